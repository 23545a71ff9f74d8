"""Compare what a student drew with the reference: a line against a curve, bars against values.

Pure functions on the plain data the plot probe returns; no matplotlib. A line is judged where it
was drawn: at each sample, and halfway along each straight segment between neighbouring samples
(so a coarse polyline of a smooth curve is caught, and an exact polyline of ReLU is not).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

#: how far from the low and high ends of x_range a line may stop, as a share of the range's width
#: (np.arange(-10, 10, 0.1) stops at 9.9); and the widest neighbourhood of a kink left uncompared.
EDGE_SLACK = 0.02


@dataclass(frozen=True)
class CurveFit:
    """One line against one reference curve."""

    ok: bool
    covers: bool
    span: tuple[float, float]
    dense: bool = True  # markers only (no line): no gap inside x_range wider than 4 % of it
    compared: int = 0
    off: int = 0
    atol: float = 0.0
    worst: tuple[float, float, float] | None = None  # x, the line's y, the reference's y
    x: torch.Tensor = field(default_factory=lambda: torch.zeros(0), repr=False)
    y: torch.Tensor = field(default_factory=lambda: torch.zeros(0), repr=False)
    bad: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool), repr=False)


@dataclass(frozen=True)
class BarFit:
    """One group of bars against the expected heights, left to right (or bottom to top)."""

    ok: bool
    count: int
    values: torch.Tensor
    bad: torch.Tensor
    atol: float
    worst: tuple[int, float, float] | None = None  # bar index, its height, the expected height


def reference_curve(function: Callable, x: torch.Tensor, derivative: bool) -> torch.Tensor:
    """function(x) in float64, or its derivative from autograd."""
    leaf = x.to(torch.float64).clone().requires_grad_(derivative)
    with torch.enable_grad():
        y = function(leaf)
        if not derivative:
            return y.detach()
        (grad,) = torch.autograd.grad(y.sum(), leaf, allow_unused=True)
    return torch.zeros_like(leaf).detach() if grad is None else grad.detach()


def _neighbour_gap(x: torch.Tensor) -> torch.Tensor:
    """For each sample, the larger distance to its neighbours in x order."""
    values, order = torch.sort(x)
    gaps = values.diff()
    left = torch.cat([gaps[:1], gaps])
    right = torch.cat([gaps, gaps[-1:]])
    out = torch.empty_like(x)
    out[order] = torch.maximum(left, right)
    return out


def fit_curve(curve: dict[str, Any], function: Callable, derivative: bool, kinks: list[float],
              x_range: tuple[float, float], tolerance: float) -> CurveFit:
    x = curve["x"].to(torch.float64)
    y = curve["y"].to(torch.float64)
    finite_x = torch.isfinite(x)
    x, y = x[finite_x], y[finite_x]
    both = torch.isfinite(y)
    low, high = x_range
    width = high - low
    drawn = torch.unique(x[both])
    if drawn.numel() < 2:
        return CurveFit(False, False, (float("nan"), float("nan")))
    span = (float(drawn[0]), float(drawn[-1]))
    slack_low = min(float(drawn[1] - drawn[0]), EDGE_SLACK * width) + 1e-9 * width
    slack_high = min(float(drawn[-1] - drawn[-2]), EDGE_SLACK * width) + 1e-9 * width
    covers = span[0] <= low + slack_low and span[1] >= high - slack_high
    inside = drawn[(drawn >= low) & (drawn <= high)]
    dense = bool(curve.get("drawn")) or (inside.numel() > 1 and float(inside.diff().max()) <= 2 * EDGE_SLACK * width)

    window = torch.minimum(1.01 * _neighbour_gap(x), torch.full_like(x, EDGE_SLACK * width)) if x.numel() > 1 \
        else torch.zeros_like(x)
    near_kink = torch.zeros_like(x, dtype=torch.bool)
    for kink in kinks:
        near_kink |= (x - kink).abs() <= window + 1e-12
    points_x, points_y = [x[~near_kink]], [y[~near_kink]]
    if curve.get("drawn") and x.numel() > 1:
        a, b = slice(0, -1), slice(1, None)
        segment = both[a] & both[b] & (x[a] != x[b])
        crosses = torch.zeros_like(segment)
        short = (x[b] - x[a]).abs() <= EDGE_SLACK * width
        for kink in kinks:
            crosses |= (torch.minimum(x[a], x[b]) <= kink) & (kink <= torch.maximum(x[a], x[b])) & short
        keep = segment & ~crosses & ~(short & (near_kink[a] | near_kink[b]))  # long segments always count
        points_x.append(((x[a] + x[b]) / 2)[keep])
        points_y.append(((y[a] + y[b]) / 2)[keep])
    px, py = torch.cat(points_x), torch.cat(points_y)
    if px.numel() == 0:
        return CurveFit(False, covers, span, dense)
    ref = reference_curve(function, px, derivative)
    finite_ref = torch.isfinite(ref)
    height = float(ref[finite_ref].max() - ref[finite_ref].min()) if bool(finite_ref.any()) else 0.0
    atol = tolerance * max(height, 1e-9)
    error = (py - ref).abs()
    bad = finite_ref & ~(error <= atol)  # a nan or inf where the reference is finite is off too
    off = int(bad.sum())
    worst = None
    if off:
        index = int(torch.where(bad, torch.nan_to_num(error, nan=float("inf")), torch.zeros_like(error)).argmax())
        worst = (float(px[index]), float(py[index]), float(ref[index]))
    return CurveFit(covers and dense and off == 0, covers, span, dense, int(px.numel()), off, atol, worst, px, py, bad)


def usable_curves(axes: dict[str, Any]) -> list[dict[str, Any]]:
    """Visible lines and scatters in data coordinates with at least two points (axhline is not one)."""
    return [c for c in axes.get("curves", []) if c.get("visible") and c.get("data_coords") and c["x"].numel() >= 2]


def best_curve(axes: dict[str, Any], function: Callable, derivative: bool, kinks: list[float],
               x_range: tuple[float, float], tolerance: float) -> CurveFit | None:
    """The first line that fits; else the closest one (covering the range first, then fewest points off)."""
    fits = [fit_curve(c, function, derivative, kinks, x_range, tolerance) for c in usable_curves(axes)]
    if not fits:
        return None
    for fit in fits:
        if fit.ok:
            return fit
    return min(fits, key=lambda f: (f.off / max(f.compared, 1) if f.compared else 2.0, not f.covers))


def bar_values(group: dict[str, Any]) -> torch.Tensor:
    """Heights (vertical bars) or widths (horizontal ones), ordered by position."""
    rects = group["rects"].to(torch.float64)
    if group.get("orientation") == "horizontal":
        position, value = rects[:, 1] + rects[:, 3] / 2, rects[:, 2]
    else:
        position, value = rects[:, 0] + rects[:, 2] / 2, rects[:, 3]
    return value[torch.argsort(position, stable=True)]


def fit_bars(values: torch.Tensor, expected: torch.Tensor, tolerance: float) -> BarFit:
    expected = expected.to(torch.float64)
    atol = tolerance * max(float(expected.abs().max()), 1e-9)
    if values.numel() != expected.numel():
        return BarFit(False, values.numel(), values, torch.ones(values.numel(), dtype=torch.bool), atol)
    error = (values - expected).abs()
    bad = ~(error <= atol)
    worst = None
    if bool(bad.any()):
        index = int(torch.nan_to_num(error, nan=float("inf")).argmax())
        worst = (index, float(values[index]), float(expected[index]))
    return BarFit(not bool(bad.any()), values.numel(), values, bad, atol, worst)


def best_bars(axes: dict[str, Any], expected: torch.Tensor, tolerance: float) -> BarFit | None:
    fits = [fit_bars(bar_values(group), expected, tolerance) for group in axes.get("bars", [])]
    if not fits:
        return None
    return next((f for f in fits if f.ok), min(fits, key=lambda f: (f.count != expected.numel(), int(f.bad.sum()))))
