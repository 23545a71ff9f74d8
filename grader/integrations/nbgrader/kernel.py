"""What a torchgrade test cell calls, inside the notebook's own kernel (stock nbgrader's path).

`grade_in_kernel("sigmoid")` sends the code this kernel has run so far (IPython's raw input
history, test cells left out) to a grader process started once per kernel (session.py), prints
the feedback and returns the score: nbgrader takes a test cell's returned number as its partial
credit. The learner's functions are graded in torchgrade's sandbox, not here; but this module
itself runs in the learner's kernel, where earlier cells could replace it — which is why
`torchgrade nbgrader autograde` exists.

Nothing here may write to stderr: nbgrader scores a test cell that does 0.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

COURSE_ENV = "TORCHGRADE_COURSE"
#: "1" where hidden checks are graded too: set by the teacher's nbgrader_config.py, so `nbgrader autograde`
#: grades them while a student's own run of the same test cell does not (the cell's source is the same
#: in both, which keeps nbgrader's checksum of the locked cell stable).
HIDDEN_ENV = "TORCHGRADE_HIDDEN_CHECKS"


class GradingUnavailable(RuntimeError):
    """The grader could not run; the message is for the student (the cell scores 0)."""


class _Session:
    def __init__(self, course_file: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.integrations.nbgrader.session", str(course_file)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        ready = self._read()
        if not ready.get("ready"):
            raise GradingUnavailable(f"torchgrade's grader did not start: {ready.get('error', 'no answer')}")

    def ask(self, request: dict) -> dict:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"error": "torchgrade's grader stopped"}
        return self._read()

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        return json.loads(line) if line else {"error": "torchgrade's grader stopped"}

    def alive(self) -> bool:
        return self.process.poll() is None


_session: _Session | None = None


def grade_in_kernel(exercise_id: str, hidden: bool | None = None) -> float | None:
    """Grade one exercise on the code this kernel has run; print feedback, return the score.

    Hidden checks are graded where $TORCHGRADE_HIDDEN_CHECKS is "1" (the teacher's nbgrader_config.py)."""
    shell = _ipython()
    if shell is None:  # imported as plain Python (say, by code extracted from a notebook): do nothing
        return None
    if hidden is None:
        hidden = os.environ.get(HIDDEN_ENV) == "1"
    sources = [str(s) for s in shell.history_manager.input_hist_raw]
    reply = _grader().ask({"exercise": exercise_id, "hidden": bool(hidden), "cells": sources})
    if "error" in reply:
        raise GradingUnavailable(f"torchgrade could not grade {exercise_id}: {reply['error']}")
    print(reply["text"])
    _show_pictures(reply.get("pictures") or [])
    return float(reply["score"])


def _show_pictures(pictures: list) -> None:
    """The pictures the feedback names, as images in the cell's output (display_data, not stderr)."""
    import base64

    from IPython.display import Image, display
    for name, data in pictures:
        print(f"{name}:")
        display(Image(data=base64.b64decode(data), format="png"))


def _grader() -> _Session:
    global _session
    if _session is None or not _session.alive():
        _session = _Session(course_file())
    return _session


def course_file() -> Path:
    """$TORCHGRADE_COURSE (nbgrader_config.py sets it), else course.yaml here or in a parent folder."""
    if os.environ.get(COURSE_ENV):
        return Path(os.environ[COURSE_ENV])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "course.yaml").is_file():
            return folder / "course.yaml"
    raise GradingUnavailable(f"torchgrade cannot find course.yaml: set {COURSE_ENV} to its path, or run the "
                             f"notebook in the course folder")


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "history_manager") else None
