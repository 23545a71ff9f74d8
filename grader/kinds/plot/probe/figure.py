"""Describe a matplotlib Figure as plain data: axes positions, titles, grid, lines, points, bars.

Runs in the learner's child. Each value is converted on its own, so one odd artist (a line of
dates, a broken patch) costs only itself. Sizes are capped so a huge figure stays a small file.
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


def _line(line: Any, axes: Any) -> dict[str, Any] | None:
    x = _floats(line.get_xdata(orig=False))
    y = _floats(line.get_ydata(orig=False))
    if x is None or y is None or x.numel() != y.numel():
        return None
    return {"x": x, "y": y, "visible": bool(line.get_visible()),
            "drawn": line.get_linestyle() not in NO_LINE and float(line.get_linewidth()) > 0,
            "data_coords": line.get_transform() == axes.transData, "label": _text(line.get_label(), 100)}


def _points(collection: Any, axes: Any) -> dict[str, Any] | None:
    offsets = _floats(collection.get_offsets())
    if offsets is None or offsets.numel() < 2 or offsets.numel() % 2:
        return None
    offsets = offsets.reshape(-1, 2)
    return {"x": offsets[:, 0].clone(), "y": offsets[:, 1].clone(), "visible": bool(collection.get_visible()),
            "drawn": False, "data_coords": collection.get_offset_transform() == axes.transData,
            "label": _text(collection.get_label(), 100)}


def _rects(patches: list) -> torch.Tensor | None:
    rows = []
    for patch in patches[:MAX_POINTS]:
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
    for container in axes.containers[:MAX_ARTISTS]:
        if not isinstance(container, BarContainer):
            continue
        in_containers.update(id(p) for p in container.patches)
        rects = _rects(list(container.patches))
        if rects is not None:
            groups.append({"orientation": _text(getattr(container, "orientation", None) or "vertical"),
                           "rects": rects})
    loose = [p for p in axes.patches if isinstance(p, Rectangle) and id(p) not in in_containers]
    rects = _rects(loose)
    if rects is not None:
        groups.append({"orientation": "vertical", "rects": rects})
    return groups


def _grid(axis: Any) -> bool:
    try:
        return any(bool(line.get_visible()) for line in axis.get_gridlines())
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
