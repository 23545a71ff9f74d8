"""matplotlib for the grader's own feedback pictures, made ready while a child runs.

In a fresh grader process the first picture costs about 0.9 s (importing matplotlib, loading fonts,
the first text layout and PNG). `torchgrade check` paid that after its only child had finished, with
the student waiting; started in a thread before the child, it costs nothing on that path, since the
grader only waits for the child meanwhile. Whatever draws calls `ready()` first (matplotlib is not
thread-safe): a kind that draws without saying DRAWS_PICTURES only misses the head start.
"""
from __future__ import annotations

import atexit
import io
import threading

_STARTING = threading.Lock()
_PREPARATION: threading.Thread | None = None


def prepare_in_background() -> None:
    """Start preparing matplotlib, once per process. The process waits for it before it exits: a daemon
    thread still inside matplotlib's or torch's C++ code when the interpreter finalises aborts the process
    ("terminate called without an active exception", pytorch/pytorch#38228), as a short pytest run in the
    student bundle did."""
    global _PREPARATION
    with _STARTING:
        if _PREPARATION is None:
            _PREPARATION = threading.Thread(target=_prepare, name="torchgrade-matplotlib", daemon=True)
            _PREPARATION.start()
            atexit.register(ready)


def ready() -> None:
    """Wait for the preparation, if one was started."""
    if _PREPARATION is not None:
        _PREPARATION.join()


def _prepare() -> None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(2, 1.5), dpi=40)
        FigureCanvasAgg(figure)
        axes = figure.subplots()
        axes.plot([1, 2], [1, 100], marker="o", label="a")
        axes.set_yscale("log")  # its tick labels are mathtext, whose parser is slow to build
        axes.set_title("a")
        axes.legend(fontsize="small")
        figure.savefig(io.BytesIO(), format="png")
    except Exception:
        pass  # the real picture reports whatever is wrong with matplotlib, where it matters
