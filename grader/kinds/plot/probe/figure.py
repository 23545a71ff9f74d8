"""Describe a matplotlib Figure as plain data: axes positions, titles, grid, lines, points, bars.

Runs in the learner's child. Each value is converted on its own, so one odd artist (a line of
dates, a broken patch) costs only itself. Sizes are capped so a huge figure stays a small file.

What is described is what the picture shows: an artist hidden, fully transparent (`alpha=0`,
`color="none"`) or drawn with nothing (no line width and no marker) is not visible; of a curve,
only the points inside the axes' view (`set_xlim`, `set_ylim`) count, and of bars only those that
show and reach into the view; a grid counts when a major or minor grid line can be seen.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

MAX_AXES = 12
MAX_ARTISTS = 50
MAX_POINTS = 200_000
NO_LINE = {"None", "none", "", " "}


def _floats(values: Any) -> torch.Tensor | None:
    """float64 values; beyond MAX_POINTS every k-th (and the last), so x and y stay paired."""
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except Exception:
        return None
    if array.size > MAX_POINTS:
        step = -(-array.size // MAX_POINTS)
        kept = array[::step]
        array = kept if (array.size - 1) % step == 0 else np.append(kept, array[-1])
    return torch.from_numpy(array.copy())


def _text(value: Any, limit: int = 300) -> str:
    try:
        return str(value)[:limit]
    except Exception:
        return ""


def _opacity(color: Any, alpha: Any) -> float:
    """How opaque `color` is drawn with the artist's alpha (0: not seen)."""
    from matplotlib.colors import to_rgba
    try:
        return float(to_rgba(color, alpha)[3])
    except Exception:
        return 1.0


def _seen(artist: Any) -> bool:
    try:
        return bool(artist.get_visible()) and (artist.get_alpha() is None or float(artist.get_alpha()) > 0)
    except Exception:
        return True


def _view(axes: Any) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = axes.get_xlim(), axes.get_ylim()
    return min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)


def _in_view(x: torch.Tensor, y: torch.Tensor, view: tuple[float, float, float, float]) -> torch.Tensor:
    x0, x1, y0, y1 = view
    slack = 1e-9 * max(1.0, x1 - x0, y1 - y0)
    return (x >= x0 - slack) & (x <= x1 + slack) & (y >= y0 - slack) & (y <= y1 + slack)


def _line(line: Any, axes: Any) -> dict[str, Any] | None:
    x = _floats(line.get_xdata(orig=False))
    y = _floats(line.get_ydata(orig=False))
    if x is None or y is None or x.numel() != y.numel():
        return None
    data_coords = line.get_transform() == axes.transData
    alpha = line.get_alpha()
    drawn = line.get_linestyle() not in NO_LINE and float(line.get_linewidth()) > 0 \
        and _opacity(line.get_color(), alpha) > 0
    marked = line.get_marker() not in (None, "None", "none", "", " ") and float(line.get_markersize()) > 0 and (
        _opacity(line.get_markerfacecolor(), alpha) > 0
        or (float(line.get_markeredgewidth()) > 0 and _opacity(line.get_markeredgecolor(), alpha) > 0))
    if data_coords:
        inside = _in_view(x, y, _view(axes))
        x, y = x[inside], y[inside]
    return {"x": x, "y": y, "visible": _seen(line) and (drawn or marked), "drawn": drawn,
            "data_coords": data_coords, "label": _text(line.get_label(), 100)}


def _points(collection: Any, axes: Any) -> dict[str, Any] | None:
    offsets = _floats(collection.get_offsets())
    if offsets is None or offsets.numel() < 2 or offsets.numel() % 2:
        return None
    offsets = offsets.reshape(-1, 2)
    x, y = offsets[:, 0].clone(), offsets[:, 1].clone()
    data_coords = collection.get_offset_transform() == axes.transData
    if data_coords:
        inside = _in_view(x, y, _view(axes))
        x, y = x[inside], y[inside]
    try:
        alpha = collection.get_alpha()
        faces = [_opacity(c, alpha) for c in collection.get_facecolors()] or [0.0]
        edges = [_opacity(c, alpha) for c in collection.get_edgecolors()] or [0.0]
        widths = [float(w) for w in np.atleast_1d(collection.get_linewidths())] or [0.0]
        sizes = [float(v) for v in np.atleast_1d(collection.get_sizes())] or [1.0]
        marked = max(sizes) > 0 and (max(faces) > 0 or (max(edges) > 0 and max(widths) > 0))
    except Exception:
        marked = True
    return {"x": x, "y": y, "visible": _seen(collection) and marked,
            "drawn": False, "data_coords": data_coords, "label": _text(collection.get_label(), 100)}


def _bar_seen(patch: Any, view: tuple[float, float, float, float]) -> bool:
    """Shown, not transparent, and reaching into the axes' view."""
    try:
        if not _seen(patch):
            return False
        alpha = patch.get_alpha()
        edge = float(patch.get_linewidth()) > 0 and _opacity(patch.get_edgecolor(), alpha) > 0
        if _opacity(patch.get_facecolor(), alpha) <= 0 and not edge:
            return False
        x, y, w, h = float(patch.get_x()), float(patch.get_y()), float(patch.get_width()), float(patch.get_height())
    except Exception:
        return True
    x0, x1, y0, y1 = view
    left, right, bottom, top = min(x, x + w), max(x, x + w), min(y, y + h), max(y, y + h)
    return right >= x0 and left <= x1 and top >= y0 and bottom <= y1


def _rects(patches: list, view: tuple[float, float, float, float] | None = None) -> torch.Tensor | None:
    rows = []
    for patch in patches[:MAX_POINTS]:
        if view is not None and not _bar_seen(patch, view):
            continue
        try:
            rows.append([float(patch.get_x()), float(patch.get_y()), float(patch.get_width()),
                         float(patch.get_height())])
        except Exception:
            continue
    return torch.tensor(rows, dtype=torch.float64).reshape(-1, 4) if rows else None


def _bars(axes: Any) -> list[dict[str, Any]]:
    from matplotlib.container import BarContainer
    from matplotlib.patches import Rectangle
    groups: list[dict[str, Any]] = []
    in_containers: set[int] = set()
    view = _view(axes)
    for container in axes.containers[:MAX_ARTISTS]:
        if not isinstance(container, BarContainer):
            continue
        in_containers.update(id(p) for p in container.patches)
        rects = _rects(list(container.patches), view)
        if rects is not None:
            groups.append({"orientation": _text(getattr(container, "orientation", None) or "vertical"),
                           "rects": rects})
    loose = [p for p in axes.patches if isinstance(p, Rectangle) and id(p) not in in_containers]
    rects = _rects(loose, view)
    if rects is not None:
        groups.append({"orientation": "vertical", "rects": rects})
    return groups


def _grid(axis: Any) -> bool:
    """A major or minor grid line that can be seen."""
    try:
        lines = list(axis.get_gridlines()) + [tick.gridline for tick in axis.get_minor_ticks()]
        return any(_seen(line) and float(line.get_linewidth()) > 0 and line.get_linestyle() not in NO_LINE
                   and _opacity(line.get_color(), line.get_alpha()) > 0 for line in lines)
    except Exception:
        return False


def _axes(axes: Any) -> dict[str, Any]:
    from matplotlib.collections import PathCollection
    box = axes.get_position()
    curves = [c for c in (_line(line, axes) for line in axes.get_lines()[:MAX_ARTISTS]) if c is not None]
    scatters = [c for c in axes.collections[:MAX_ARTISTS] if isinstance(c, PathCollection)]
    curves += [c for c in (_points(s, axes) for s in scatters) if c is not None]
    return {
        "visible": bool(axes.get_visible()),
        "position": [float(box.x0), float(box.y0), float(box.x1), float(box.y1)],
        "titles": {loc: _text(axes.get_title(loc)) for loc in ("left", "center", "right")},
        "xlabel": _text(axes.get_xlabel()), "ylabel": _text(axes.get_ylabel()),
        "grid": {"x": _grid(axes.xaxis), "y": _grid(axes.yaxis)},
        "xlim": [float(v) for v in axes.get_xlim()], "ylim": [float(v) for v in axes.get_ylim()],
        "curves": curves, "bars": _bars(axes),
    }


def describe_figure(figure: Any) -> dict[str, Any]:
    """Plain data for every axes of the figure (the first MAX_AXES), in the order matplotlib keeps."""
    axes = []
    for ax in list(figure.axes)[:MAX_AXES]:
        try:
            axes.append(_axes(ax))
        except Exception as exc:
            axes.append({"visible": True, "broken": f"{type(exc).__name__}: {_text(exc)}"})
    suptitle = getattr(figure, "_suptitle", None)
    width, height = figure.get_size_inches()
    return {"axes": axes, "axes_count": len(figure.axes), "suptitle": _text(suptitle.get_text()) if suptitle else "",
            "size_inches": [float(width), float(height)], "dpi": float(figure.dpi)}
