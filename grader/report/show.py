"""`torchgrade show`: one graded submission, read back from its results folder (`resume.load_for_show`), in full."""
from __future__ import annotations

from pathlib import Path

from ..scoring import SubmissionResult
from .pictures import pointing_at
from .terminal import render_feedback, render_table


def render_full(result: SubmissionResult, folder: Path) -> str:
    """The score table, then the full feedback, naming the pictures where they were written."""
    feedback = render_feedback(result, lambda text: pointing_at(text, folder))
    return render_table(result) + ("\n\n" + feedback if feedback else "")
