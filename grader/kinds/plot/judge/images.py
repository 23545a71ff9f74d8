"""Pictures for a failed plot case, drawn in the grader: the student's plot beside the reference.

`side_by_side` puts the student's PNG (or, without one, their figure redrawn from its data) next
to the reference, and `overlay` draws their curves or bars over the reference with the points
that are off in red. Small figures at a low dpi, the reference drawn once per case: a failed
case costs about 0.2 s of CPU.
"""
from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
import torch

from grader.checks import drawing

from .cases import Panel, PlotCase
from .match import best_bars, best_curve, reference_curve
from .png import Png

HEIGHT = 300          # pixels: the height of each half of a side-by-side picture
_RENDER = threading.Lock()  # matplotlib is not thread-safe; grading threads take turns to draw
_REFERENCES: dict[tuple, np.ndarray] = {}


def _defaults() -> Any:
    drawing.ready()  # never beside the background preparation: matplotlib is not thread-safe
    import matplotlib
    return matplotlib.rc_context({k: v for k, v in matplotlib.rcParamsDefault.items() if k != "backend"})


def _png_of(figure: Any) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    from PIL import Image
    return np.asarray(Image.open(buffer).convert("RGB"))


def _panel(ax: Any, panel: Panel, x_range: tuple[float, float]) -> None:
    if panel.bars is not None:
        ax.bar(range(panel.bars.numel()), panel.bars.numpy(), color="tab:green")
    else:
        low, high = x_range
        x = torch.linspace(low, high, 801, dtype=torch.float64)
        ax.plot(x.numpy(), reference_curve(panel.function, x, panel.derivative).numpy(), color="tab:green")
    ax.set_title(panel.title)
    ax.grid(True)


def reference_image(case: PlotCase, x_range: tuple[float, float]) -> np.ndarray:
    """The reference drawn once per case and process: every submission's picture reuses it."""
    key = (case.label, tuple(p.title for p in case.panels), tuple(x_range))
    if key not in _REFERENCES:
        figure = _figure(3.2)
        for ax, panel in zip(figure.subplots(1, 2), case.panels):
            _panel(ax, panel, x_range)
        _REFERENCES[key] = _png_of(figure)
    return _REFERENCES[key]


def _figure(height_in: float, bottom: float = 0.12) -> Any:
    """A figure of our own: matplotlib's defaults (not a teacher's matplotlibrc), fixed margins."""
    drawing.ready()
    from matplotlib.figure import Figure
    figure = Figure(figsize=(8, height_in), dpi=HEIGHT / 3.2)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=bottom, top=0.88, wspace=0.25)
    return figure


def redrawn_image(observation: dict[str, Any]) -> np.ndarray:
    """The student's figure drawn again from the data the probe returned (when no PNG was saved)."""
    from matplotlib.patches import Rectangle
    figure = _figure(3.2)
    description = observation.get("figure")
    axes_list = [a for a in (description or {}).get("axes", []) if a.get("visible") and "position" in a]
    if not axes_list:
        figure.text(0.5, 0.5, "no figure found", ha="center", va="center", fontsize=16)
    for data in axes_list:
        x0, y0, x1, y1 = data["position"]
        ax = figure.add_axes((x0, y0, x1 - x0, y1 - y0))
        for curve in data["curves"]:
            ax.plot(curve["x"].numpy(), curve["y"].numpy(), "-" if curve["drawn"] else ".", lw=1)
        for group in data["bars"]:
            for x, y, w, h in group["rects"].tolist():
                ax.add_patch(Rectangle((x, y), w, h))
            ax.autoscale_view()
        ax.set_title(next((t for t in data["titles"].values() if t.strip()), ""))
        ax.grid(data["grid"]["x"] or data["grid"]["y"])
    return _png_of(figure)


def _captioned(images: list[tuple[str, np.ndarray]]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont
    try:
        font = ImageFont.load_default(size=15)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    scaled = []
    for caption, rgb in images:
        image = Image.fromarray(rgb)
        width = max(1, min(3 * HEIGHT, round(image.width * HEIGHT / image.height)))
        scaled.append((caption, image.resize((width, HEIGHT))))
    gap, strip = 16, 26
    canvas = Image.new("RGB", (sum(i.width for _, i in scaled) + gap * (len(scaled) + 1), HEIGHT + strip + gap),
                       "white")
    draw = ImageDraw.Draw(canvas)
    x = gap
    for caption, image in scaled:
        draw.text((x, 4), caption, fill="black", font=font)
        canvas.paste(image, (x, strip))
        x += image.width + gap
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def side_by_side(observation: dict[str, Any], png: Png | None, case: PlotCase, x_range) -> bytes:
    with _RENDER, _defaults():
        if png is not None:
            student = ("your PNG", png.rgb)
        else:
            student = ("your figure, redrawn from its data (no usable PNG was saved)", redrawn_image(observation))
        return _captioned([student, ("reference", reference_image(case, x_range))])


def overlay(axes: list[dict[str, Any]], case: PlotCase, tolerance: float, x_range) -> bytes:
    """Each of the student's two axes over its reference; points or bars that are off in red."""
    with _RENDER, _defaults():
        figure = _figure(3.4, bottom=0.2)
        for ax, data, panel, side in zip(figure.subplots(1, 2), axes, case.panels, ("left", "right")):
            if panel.bars is not None:
                _bars_over(ax, data, panel, tolerance)
            else:
                _curve_over(ax, data, panel, tolerance, x_range)
            ax.grid(True)
            ax.set_title(f"{side}: {panel.title}", fontsize=9)
        figure.legend(handles=_legend(case), loc="lower center", ncol=4, fontsize=8, frameon=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=figure.dpi)
        return buffer.getvalue()


def _legend(case: PlotCase) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    if case.panels[0].bars is not None:
        return [Patch(color="tab:green", alpha=0.4, label="reference"), Patch(color="tab:blue", label="your bars"),
                Patch(color="red", label="off")]
    return [Line2D([], [], color="tab:green", lw=4, alpha=0.4, label="reference"),
            Line2D([], [], color="tab:blue", marker=".", ls="", label="your line"),
            Line2D([], [], color="red", marker="x", ls="", label="off"),
            Patch(color="red", alpha=0.12, label="not drawn")]


def _curve_over(ax: Any, data: dict[str, Any], panel: Panel, tolerance: float, x_range) -> None:
    fit = best_curve(data, panel.function, panel.derivative, list(panel.kinks), x_range, tolerance)
    low, high = x_range
    if fit is not None and fit.x.numel():
        low, high = min(low, float(fit.x.min())), max(high, float(fit.x.max()))
    x = torch.linspace(low, high, 801, dtype=torch.float64)
    ax.plot(x.numpy(), reference_curve(panel.function, x, panel.derivative).numpy(), color="tab:green", lw=4,
            alpha=0.4, label="reference")
    for edge in x_range:
        ax.axvline(edge, color="grey", ls=":", lw=1)
    if fit is None or not fit.x.numel():
        ax.text(0.5, 0.5, "no line to compare", transform=ax.transAxes, ha="center", color="red")
        return
    if fit.span[0] > x_range[0]:
        ax.axvspan(x_range[0], fit.span[0], color="red", alpha=0.12)
    if fit.span[1] < x_range[1]:
        ax.axvspan(fit.span[1], x_range[1], color="red", alpha=0.12)
    good = ~fit.bad
    ax.plot(fit.x[good].numpy(), fit.y[good].numpy(), ".", ms=2, color="tab:blue")
    ax.plot(fit.x[fit.bad].numpy(), fit.y[fit.bad].numpy(), "x", ms=4, color="red")


def _bars_over(ax: Any, data: dict[str, Any], panel: Panel, tolerance: float) -> None:
    expected = panel.bars
    ax.bar(range(expected.numel()), expected.numpy(), width=0.8, color="tab:green", alpha=0.4)
    fit = best_bars(data, expected, tolerance)
    if fit is None:
        ax.text(0.5, 0.5, "no bars to compare", transform=ax.transAxes, ha="center", color="red")
        return
    colours = ["red" if bad else "tab:blue" for bad in fit.bad.tolist()]
    ax.bar(range(fit.count), fit.values.numpy(), width=0.35, color=colours)
