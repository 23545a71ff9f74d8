"""Which Figure wrote the graded file, and whether it has changed since: when the file is, by
construction, the returned Figure's own picture, the probe need not draw the Figure again.

Runs in the learner's child. Every save that reaches `FigureCanvasBase.print_figure` (`fig.savefig`,
`plt.savefig`, `fig.canvas.print_figure`) to the graded path is noted once the outermost save call
returns: which Figure, the SHA-256 of the file then, and the figure's state then:

- matplotlib's change count: every `stale = True` that any artist raises, counted here. Each `set_*`,
  `plot`, `add_*`, `set_data` … raises it, and so does every draw (a later `plt.draw()` or a save to
  a buffer counts as a change), while lowering `stale` (a draw, `fig.stale = False`) undoes nothing;
- a digest of the data that can change in place without raising it (a line's xy, a collection's
  offsets and paths, a patch's path, an image's array, a text), and of the artists each axes holds;
- matplotlib's rcParams.

The saved file shows the returned Figure (`shows_figure`) only when the last noted save to the path
was of that very Figure, drew the whole figure as a PNG (no `bbox_inches` crop, no other backend,
no option this module does not know, no `draw_event` or limit callbacks that could change the
figure while it is drawn), the file holds exactly the bytes that save left, and neither the change
count, the digest nor rcParams has moved since. In every other case (another figure saved or
returned, the figure changed after the save, the file written or overwritten some other way, a
save to a buffer then written) the probe draws the Figure and the grader compares the pictures, as
without this module.

Like the rest of the probe, this runs beside the learner's code: code that rewrites matplotlib's
private attributes or this module could as well forge the picture the probe draws. What it must
never do is take a careless, unusual or hostile use of matplotlib's own API for an unchanged figure.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import numbers
import os
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

MAX_FILE_BYTES = 16 * 1024 * 1024
#: print_figure's keyword arguments that leave the whole figure in the picture (dpi, colours, PNG)
PLAIN_OPTIONS = frozenset({"dpi", "facecolor", "edgecolor", "orientation", "format", "bbox_inches",
                           "pad_inches", "metadata"})
MAX_PATHS = 2_000  # of one collection, digested; a collection with more is not trusted unchanged

_changes = 0  # every stale = True any artist raised in this process
_depth = 0  # save calls in progress (plt.savefig → Figure.savefig → print_figure)
_watched: str | None = None  # the graded path, resolved
_pending: list[weakref.ref] = []  # figures printed to the watched path in the save call in progress
_last: "SaveNote | None" = None


@dataclass(frozen=True)
class SaveNote:
    """The last save to the graded path: its figure, the file's digest after it, the figure's state then."""

    figure: weakref.ref
    file_sha256: str
    changes: int
    state: str
    rc: dict


def install() -> None:
    """Count artists' changes and note saves; once per process (the fork server's children inherit it)."""
    from matplotlib import pyplot
    from matplotlib.artist import Artist
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.figure import Figure
    if getattr(Artist, "_torchgrade_counts_changes", False):
        return
    stale = Artist.stale

    def set_stale(self: Any, value: bool) -> None:
        global _changes
        if value:
            _changes += 1
        stale.fset(self, value)

    Artist.stale = property(stale.fget, set_stale, stale.fdel, stale.__doc__)
    Artist._torchgrade_counts_changes = True
    FigureCanvasBase.print_figure = _noting_print(FigureCanvasBase.print_figure)
    Figure.savefig = _saving(Figure.savefig)
    pyplot.savefig = _saving(pyplot.savefig)


def watch(path: str) -> None:
    """Note saves to path from now on, and forget earlier ones (each call of the probe)."""
    global _watched, _last
    _watched, _last = os.path.realpath(path), None
    _pending.clear()


@contextlib.contextmanager
def _save_call() -> Iterator[None]:
    """One save call (they nest: plt.savefig → Figure.savefig → print_figure); when the outermost one
    returns, the figure it printed last to the graded path is noted, with the file and its state then."""
    global _depth
    _depth += 1
    try:
        yield
    except BaseException:
        _depth -= 1
        if _depth == 0:
            _pending.clear()
        raise
    _depth -= 1
    if _depth == 0:
        _note_pending()


def _saving(save: Callable) -> Callable:
    @functools.wraps(save)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _save_call():
            return save(*args, **kwargs)
    return wrapper


def _noting_print(print_figure: Callable) -> Callable:
    @functools.wraps(print_figure)
    def wrapper(self: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        global _last
        with _save_call():
            try:
                to_watched = _watched is not None and isinstance(filename, (str, os.PathLike)) \
                    and os.path.realpath(os.fspath(filename)) == _watched
            except Exception:
                to_watched = False
            if to_watched:
                _last = None  # the file is being replaced: an earlier note no longer says what it holds
                _pending.clear()
            result = print_figure(self, filename, *args, **kwargs)
            if to_watched:
                try:
                    plain = not args and _whole_png(self, filename, kwargs)
                except Exception:
                    plain = False
                if plain:
                    _pending.append(weakref.ref(self.figure))
            return result
    return wrapper


def _whole_png(canvas: Any, filename: Any, options: dict[str, Any]) -> bool:
    """Whether print_figure drew the whole figure as a PNG with Agg, with nothing of the learner's run inside the draw."""
    import matplotlib
    if set(options) - PLAIN_OPTIONS or options.get("format") not in (None, "png", "PNG"):
        return False
    if options.get("format") is None and not os.fspath(filename).lower().endswith(".png"):
        return False
    bbox = options.get("bbox_inches", matplotlib.rcParams["savefig.bbox"])
    if bbox not in (None, "tight", "standard"):
        return False
    pad = options.get("pad_inches")
    pad = matplotlib.rcParams["savefig.pad_inches"] if pad in (None, "layout") else pad
    if bbox == "tight" and not (isinstance(pad, numbers.Real) and 0 <= float(pad) < float("inf")):
        return False  # a negative padding crops the figure
    figure = canvas.figure
    if canvas.callbacks.callbacks.get("draw_event"):
        return False
    return not any(ax.callbacks.callbacks.get(event) for ax in figure.get_axes()
                   for event in ("xlim_changed", "ylim_changed", "zlim_changed"))


def _note_pending() -> None:
    global _last
    if not _pending:
        return
    figure = _pending[-1]()
    _pending.clear()
    if figure is None or _watched is None:
        return
    digest = _file_sha256(_watched)
    state = figure_state(figure)
    if digest is None or state is None:
        return
    rc = _rc()
    _last = SaveNote(weakref.ref(figure), digest, _changes, state, rc)


def _file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest() if len(data) <= MAX_FILE_BYTES else None


def _rc() -> dict:
    import matplotlib
    return dict.copy(matplotlib.rcParams)


def _add(h: Any, value: Any) -> None:
    array = np.asarray(value)
    h.update(f"{array.dtype}{array.shape}".encode())
    if array.dtype != object:
        h.update(np.ascontiguousarray(array).tobytes())


def figure_state(figure: Any) -> str | None:
    """A digest of what can change in the figure without raising `stale`; None if it cannot be read."""
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.collections import Collection
    from matplotlib.figure import FigureBase
    from matplotlib.image import AxesImage, FigureImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.spines import Spine
    from matplotlib.text import Text
    h = hashlib.blake2b(digest_size=16)
    todo, seen = [figure], set()
    try:
        while todo:
            artist = todo.pop()
            if id(artist) in seen:
                continue
            seen.add(id(artist))
            h.update(f"{type(artist).__qualname__}@{id(artist)};".encode())
            if isinstance(artist, (FigureBase, Axes)):
                todo.extend(a for a in artist.get_children() if not isinstance(a, (Axis, Spine)))
            elif isinstance(artist, Line2D):
                _add(h, artist.get_xydata())
            elif isinstance(artist, Collection):
                _add(h, artist.get_offsets())
                paths = artist.get_paths()
                if len(paths) > MAX_PATHS:
                    return None
                for path in paths:
                    _add(h, path.vertices)
            elif isinstance(artist, Patch):
                _add(h, artist.get_path().vertices)
            elif isinstance(artist, (AxesImage, FigureImage)):
                _add(h, artist.get_array())
            elif isinstance(artist, Text):
                h.update(artist.get_text().encode("utf-8", "replace"))
    except Exception:
        return None
    return h.hexdigest()


def shows_figure(figure: Any, file_bytes: bytes | None) -> bool:
    """Whether the file (its bytes now) is what the last save to the graded path wrote of this very
    Figure, with nothing changed since: then it is, by construction, the Figure's own picture."""
    note = _last
    if note is None or figure is None or file_bytes is None or note.figure() is not figure:
        return False
    if _changes != note.changes or hashlib.sha256(file_bytes).hexdigest() != note.file_sha256:
        return False
    return _rc() == note.rc and figure_state(figure) == note.state
