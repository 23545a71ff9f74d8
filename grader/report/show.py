"""`torchgrade show`: one graded submission, read back from its results folder, in full."""
from __future__ import annotations

from pathlib import Path

from ..resume import load_result
from ..scoring import SubmissionResult
from .pictures import pointing_at
from .terminal import render_feedback, render_table


class ShowError(Exception):
    """The path holds no readable results.json."""


def load_for_show(path: Path) -> tuple[SubmissionResult, Path]:
    """The result in `path` (a submission's results folder, or its results.json) and its folder."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    result = load_result(folder)
    if result is None:
        raise ShowError(f"{path} holds no readable results.json; give OUT/<submission> of a torchgrade grade run")
    return result, folder


def render_full(result: SubmissionResult, folder: Path) -> str:
    """The score table, then the full feedback, naming the pictures where they were written."""
    feedback = render_feedback(result, lambda text: pointing_at(text, folder))
    return render_table(result) + ("\n\n" + feedback if feedback else "")
