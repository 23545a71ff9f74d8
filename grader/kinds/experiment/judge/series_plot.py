"""A feedback picture: per-position numbers as lines, the reference's panel beside the student's.

Rendered in the grader's process from plain numbers (nothing of the learner's runs here), with
matplotlib's object API and the Agg canvas, so concurrent grading threads never share pyplot state.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

from grader.checks import drawing

Series = list[float] | None


@dataclass(frozen=True)
class Panel:
    title: str
    lines: list[tuple[str, Series]]  # (label, numbers or None when there are none)


def render_panels(panels: list[Panel], *, title: str, xlabel: str, ylabel: str, log: bool) -> bytes:
    """PNG bytes: one axes per panel side by side, sharing the y axis; the same label, the same colour."""
    drawing.ready()  # never beside the background preparation: matplotlib is not thread-safe
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2 * len(panels), 4.2), dpi=100)
    figure.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.86, wspace=0.06)  # fixed: layout engines cost 2×
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    labels = list(dict.fromkeys(label for panel in panels for label, _ in panel.lines))
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    for ax, panel in zip(axes, panels):
        drawn = 0
        for label, numbers in panel.lines:
            points = [(i + 1, v) for i, v in enumerate(numbers or []) if math.isfinite(v) and (v > 0 or not log)]
            if not points:
                ax.plot([], [], color=colours[label], label=f"{label} (nothing to draw)")
                continue
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", markersize=3, color=colours[label], label=label)
            drawn += 1
        if log and drawn:
            ax.set_yscale("log")
            ax.minorticks_off()  # decades are enough to compare shapes; minor ticks were half the drawing time
        ax.set_title(panel.title, y=1.0)  # a fixed place: matplotlib need not measure tick labels to find one
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    axes[0].set_ylabel(ylabel + (" (log scale)" if log else ""))
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
