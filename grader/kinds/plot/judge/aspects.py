"""Each promise a plot check can grade, as a function: the observation → None, or a sentence for the student.

file: a real PNG at `path`, of a sensible size, not blank. returns: the Figure is returned.
layout: exactly two axes side by side. curves / bars: the left and right axes show the reference.
titles: each axes has a title. grid: each axes shows grid lines.
"""
from __future__ import annotations

import math
from typing import Any

from .cases import Panel, PlotCase
from .match import CurveFit, best_bars, best_curve
from .png import read_png, same_picture

SIDES = ("left", "right")


def two_axes(observation: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The figure's two axes, left then right, or why there are not two side by side."""
    figure = observation.get("figure")
    if figure is None:
        return None, ("Your function made no figure that the grader could find: create one "
                      "(fig, axes = plt.subplots(1, 2)) and return it.")
    unread = [a for a in figure["axes"] if a.get("visible") and "position" not in a]
    if unread:  # an axes the child could not describe may be a third one, or one of the two
        why = unread[0].get("broken")
        return None, ("One of your figure's axes could not be read" + (f" ({why})" if isinstance(why, str) and why
                                                                       else "")
                      + ", so the grader cannot tell what your figure shows: draw with matplotlib's own axes "
                        "(fig, axes = plt.subplots(1, 2)) and leave their methods as they are.")
    shown = [a for a in figure["axes"] if a.get("visible")]
    if any(not all(math.isfinite(v) for v in a["position"]) for a in shown):
        return None, ("One of your axes has no place on the figure (its position is not a number): leave the "
                      "positions plt.subplots(1, 2) gives.")
    if len(shown) != 2:
        return None, (f"Your figure has {len(shown)} axes; the exercise asks for exactly 2, side by side "
                      f"(fig, axes = plt.subplots(1, 2)).")
    left, right = sorted(shown, key=lambda a: a["position"][0])
    (lx0, ly0, lx1, ly1), (rx0, ry0, rx1, ry1) = left["position"], right["position"]
    overlap = min(ly1, ry1) - max(ly0, ry0)
    if rx0 < lx0 + 0.5 * (lx1 - lx0) or overlap < 0.5 * min(ly1 - ly0, ry1 - ry0):
        return None, ("Your two axes are not side by side (one row, two columns): "
                      "use plt.subplots(1, 2), not plt.subplots(2, 1).")
    return [left, right], None


def layout(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    return two_axes(observation)[1]


def _curve_words(fit: CurveFit | None, panel: Panel, x_range) -> str:
    if fit is None:
        return "has no line (ax.plot(x, y)) in data coordinates"
    low, high = x_range
    if not fit.covers and fit.off == 0 and fit.compared:
        return (f"draws {panel.title} only over [{fit.span[0]:.3g}, {fit.span[1]:.3g}]; "
                f"draw it over at least [{low:g}, {high:g}]")
    if not fit.dense and fit.off == 0:
        return f"draws {panel.title} with markers only, too far apart: sample at least every {0.04 * (high - low):g}"
    if fit.worst is None:
        return f"has a line that cannot be compared with {panel.title}"
    x, got, want = fit.worst
    return (f"does not show {panel.title}: {fit.off} of {fit.compared} points are off; at x = {x:.4g} your line "
            f"is at {got:.4g}, {panel.title} is {want:.4g} (allowed ±{fit.atol:.2g})")


def _judge_panels(observation, case: PlotCase, tolerance: float, x_range, matches, describe) -> str | None:
    axes, problem = two_axes(observation)
    if axes is None:
        return problem
    fits = [matches(a, p) for a, p in zip(axes, case.panels)]
    if all(ok for ok, _ in fits):
        return None
    swapped = [matches(a, p)[0] for a, p in zip(axes, reversed(case.panels))]
    if all(swapped):
        return (f"Your axes are swapped: the left shows {case.panels[1].title} and the right {case.panels[0].title}. "
                f"Put {case.panels[0].title} on the left.")
    lines = []
    for side, axes_data, panel, (ok, fit) in zip(SIDES, axes, case.panels, fits):
        if ok:
            continue
        text = f"Your {side} axes {describe(fit, panel)}."
        for other in (p for p in case.panels + case.lookalikes if p.title != panel.title):
            if matches(axes_data, other)[0]:
                text += f" It looks like {other.title} instead."
                break
        lines.append(text)
    return "\n".join(lines)


def curves(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    def matches(axes: dict, panel: Panel) -> tuple[bool, CurveFit | None]:
        fit = best_curve(axes, panel.function, panel.derivative, list(panel.kinks), x_range, tolerance)
        return (fit is not None and fit.ok), fit
    return _judge_panels(observation, case, tolerance, x_range, matches,
                         lambda fit, panel: _curve_words(fit, panel, x_range))


def bars(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    def matches(axes: dict, panel: Panel):
        fit = best_bars(axes, panel.bars, tolerance)
        return (fit is not None and fit.ok), fit

    def describe(fit, panel: Panel) -> str:
        if fit is None:
            return "has no bar chart (ax.bar(range(n), values))"
        n = panel.bars.numel()
        if fit.count != n:
            return f"has {fit.count} bars; {panel.title} has {n} values, one bar each"
        index, got, want = fit.worst
        return f"does not show {panel.title}: bar {index} is {got:.4g}, expected {want:.4g} (allowed ±{fit.atol:.2g})"
    return _judge_panels(observation, case, tolerance, x_range, matches, describe)


def titles(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    axes, problem = two_axes(observation)
    if axes is None:
        return problem
    missing = [side for side, a in zip(SIDES, axes) if not any(t.strip() for t in a["titles"].values())]
    if not missing:
        return None
    extra = " (a figure title, fig.suptitle, does not count)" if observation["figure"].get("suptitle") else ""
    return f"Your {' and '.join(missing)} axes {'has' if len(missing) == 1 else 'have'} no title: ax.set_title(...){extra}."


def grid(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    axes, problem = two_axes(observation)
    if axes is None:
        return problem
    missing = [side for side, a in zip(SIDES, axes) if not (a["grid"]["x"] or a["grid"]["y"])]
    if not missing:
        return None
    return f"Your {' and '.join(missing)} axes {'shows' if len(missing) == 1 else 'show'} no grid: ax.grid(True)."


def file(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    saved = observation["file"]
    if not saved.get("exists"):
        text = "No file was saved at path: save the figure with fig.savefig(path)."
        stray = observation.get("other_images") or []
        if stray:
            text += f" (Your code saved {', '.join(stray[:3])} instead; use the path argument as it is.)"
        return text
    if saved.get("too_large"):
        return f"The file at path is {saved['size'] / 1e6:.0f} MB; save it at a lower dpi."
    png, problem = read_png(bytes(saved["bytes"].numpy().tobytes()))
    if problem is not None or png is None:
        return problem
    if observation.get("figure_source") is not None and observation.get("rendered") is None:
        why = observation.get("render_error")
        return ("The Figure your function returned could not be drawn again"
                + (f" ({why})" if isinstance(why, str) and why else "")
                + ", so nothing shows that the file at path is that figure: return the Figure you save, "
                  "one that can be drawn more than once.")
    return same_picture(png, observation.get("rendered"))


def returns(observation: dict[str, Any], case: PlotCase, tolerance: float, x_range) -> str | None:
    returned = observation["returned"]
    if returned["is_figure"]:
        return None
    if observation.get("figure_source") == "returned_in_sequence":
        return "Your function returned a tuple; return the Figure alone (return fig)."
    return (f"Your function returned {returned['type']}, not the Figure; end it with return fig "
            f"(fig, axes = plt.subplots(1, 2) gives you fig).")


ASPECTS = {"file": file, "returns": returns, "layout": layout, "curves": curves, "bars": bars,
           "titles": titles, "grid": grid}
