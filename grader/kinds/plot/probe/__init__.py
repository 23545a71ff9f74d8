"""The plot probe: call a plotting function in the child, inspect its Figure there, return plain data.

What comes back is numbers, strings and tensors only: per axes its position, titles, grid, the
lines' (x, y) and the bars; the saved PNG's bytes as a uint8 tensor; what the function returned;
the warnings it caused, counted. Never a Figure. Matplotlib is made headless first (plot_headless).
"""
from __future__ import annotations

import functools
import logging
import os
import tempfile
import warnings
from typing import Any, Callable

import torch

from grader.encode import encode_error

from .figure import describe_figure
from .headless import make_headless, warm_plots
from ..record import PlotRecord

__all__ = ["plot_probe", "plot_path", "make_headless", "warm_plots"]

MAX_FILE_BYTES = 16 * 1024 * 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")

#: observations already made in this child, by the grader's `share` key: checks that judge the same
#: call (the figure, the file, the titles) share one call of the student's function.
_SEEN: dict[str, dict[str, Any]] = {}
_TOKEN: tuple[int, str] | None = None


def child_token() -> str:
    """Names this child process (not the fork server it came from), so the grader can tell which
    observations come from one grading: it draws pictures for the first failing case only."""
    global _TOKEN
    if _TOKEN is None or _TOKEN[0] != os.getpid():
        _TOKEN = (os.getpid(), os.urandom(8).hex())
    return _TOKEN[1]


def plot_path(filename: str) -> str:
    """An absolute path in the child's private temporary folder (set before learner code ran)."""
    folder = os.path.join(tempfile.gettempdir(), "plots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, os.path.basename(filename))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        try:
            message = record.getMessage()[:300]
        except BaseException:
            return
        if message not in self.messages and len(self.messages) < 10:
            self.messages.append(message)


def _quietly(fn: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """Run fn with matplotlib's log and Python warnings collected (counted), not printed."""
    logger = logging.getLogger("matplotlib")
    collect = _Collect()
    propagate = logger.propagate
    logger.addHandler(collect)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn()
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    unique: list[str] = []
    for item in caught:
        text = f"{item.category.__name__}: {item.message}"[:300]
        if text not in unique and len(unique) < 10:
            unique.append(text)
    return result, {"log": collect.messages, "log_count": collect.count,
                    "warnings": unique, "warning_count": len(caught)}


def _read_file(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        return {"exists": False}
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        return {"exists": True, "size": size, "too_large": True}
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES)
    return {"exists": True, "size": size, "bytes": torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()
            if data else torch.zeros(0, dtype=torch.uint8)}


def _images_in(folder: str) -> set[str]:
    try:
        return {name for name in os.listdir(folder) if name.lower().endswith(IMAGE_SUFFIXES)}
    except OSError:
        return set()


#: The width of the picture of the returned Figure that the saved file is compared with.
RENDER_WIDTH_PX = 480

#: The graded path of the call in progress (resolved), and the colours the learner's last save to it
#: drew the figure's background and edge with: the Figure is drawn again with the same ones, so that
#: `savefig(path, facecolor="black")` is compared with a black-backed picture of its figure.
_GRADED_PATH: list[str] = []
_SAVE_COLOURS: dict[str, Any] = {}
SAVE_COLOUR_OPTIONS = ("facecolor", "edgecolor")


def _names_graded_path(filename: Any) -> bool:
    name = filename if isinstance(filename, (str, os.PathLike)) else getattr(filename, "name", None)
    if not _GRADED_PATH or not isinstance(name, (str, os.PathLike)):
        return False
    return os.path.realpath(os.fspath(name)) == _GRADED_PATH[0]


def note_save_colours() -> None:
    """Once per process: every canvas's print_figure notes the colours a save to the graded path used."""
    from matplotlib.backend_bases import FigureCanvasBase
    original = FigureCanvasBase.print_figure
    if getattr(original, "_torchgrade_notes_colours", False):
        return

    @functools.wraps(original)
    def print_figure(self: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            if _names_graded_path(filename):
                positional = dict(zip(("dpi", *SAVE_COLOUR_OPTIONS), args))
                _SAVE_COLOURS.clear()
                _SAVE_COLOURS.update({k: v for k, v in {**positional, **kwargs}.items() if k in SAVE_COLOUR_OPTIONS})
        except Exception:
            pass
        return original(self, filename, *args, **kwargs)

    print_figure._torchgrade_notes_colours = True
    FigureCanvasBase.print_figure = print_figure


def _saved_width(path: str) -> int | None:
    """The pixel width in the header of the PNG at path, if there is one."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big")


def _render(figure: Any, path: str | None = None) -> tuple[torch.Tensor | None, str | None]:
    """The Figure drawn as a PNG (bytes), as wide as the file saved at path where there is one (so both
    pictures have lines and text at the same resolution), else RENDER_WIDTH_PX, with the background
    and edge colours of the learner's save; so the grader can tell whether the saved file shows it.
    Else why it could not be drawn."""
    import io
    try:
        width_in, height_in = (float(v) or 1.0 for v in figure.get_size_inches())
        width = _saved_width(path) if path else None
        width = min(width or RENDER_WIDTH_PX, 3000)
        dpi = max(10.0, min(width / width_in, 300.0, (4_000_000 / (width_in * height_in)) ** 0.5))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, **_SAVE_COLOURS)
        return torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8).clone(), None
    except BaseException as exc:
        try:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        except BaseException:
            return None, "the figure could not be drawn"


def _figure_of(out: Any) -> tuple[Any, str | None]:
    """The returned Figure; else one inside a returned tuple; else pyplot's current one."""
    import matplotlib.pyplot as pyplot
    from matplotlib.figure import Figure
    if isinstance(out, Figure):
        return out, "returned"
    if isinstance(out, (tuple, list)):
        for item in out:
            if isinstance(item, Figure):
                return item, "returned_in_sequence"
    if pyplot.get_fignums():
        return pyplot.gcf(), "pyplot"
    return None, None


def plot_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """Call fn(*args, path); describe the figure it made and read the file it saved at path."""
    share = call.get("options", {}).get("share")
    if share is not None and share in _SEEN:
        return _SEEN[share]
    import matplotlib
    make_headless()
    note_save_colours()
    path = plot_path(call["options"]["filename"])
    _GRADED_PATH[:] = [os.path.realpath(path)]
    _SAVE_COLOURS.clear()
    if os.path.lexists(path):
        os.remove(path)
    folder = os.path.dirname(path)
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = folder
    before = _images_in(cwd) | {f"plots/{n}" for n in _images_in(folder)}
    args = [a for a in call["args"]] + [path]

    def run() -> dict[str, Any]:
        with matplotlib.rc_context():  # rcParams a case sets do not leak into the next one
            try:
                out = fn(*args, **call.get("kwargs", {}))
            except BaseException as exc:
                return {"error": encode_error(exc, call.get("submission_dir"))}
            figure, source = _figure_of(out)
            rendered, render_error = _render(figure, path) if figure is not None else (None, None)
            return {"returned": {"type": type(out).__name__, "module": type(out).__module__,
                                 "is_figure": source == "returned"},
                    "figure_source": source,
                    "figure": describe_figure(figure) if figure is not None else None,
                    "rendered": rendered, "render_error": render_error}

    observation, noise = _quietly(run)
    observation["noise"] = noise
    observation["child"] = child_token()
    observation["path"] = path
    observation["file"] = _read_file(path)
    after = _images_in(cwd) | {f"plots/{n}" for n in _images_in(folder)}
    observation["other_images"] = sorted(after - before - {f"plots/{os.path.basename(path)}"})[:10]
    if share is not None:
        _SEEN[share] = observation
    return observation

PROBES = {"plot": plot_probe}
#: probe name → the type of the record it sends back
RECORDS = {"plot": PlotRecord}


def warm(backward: bool) -> None:
    """In the fork server: matplotlib on Agg whatever learners ask, its font cache built, saves' colours
    noted; children inherit all three."""
    warm_plots()
    note_save_colours()
