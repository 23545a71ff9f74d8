"""What the answer probe sends back (question/probe.py)."""
from __future__ import annotations

from typing import Any, TypedDict

from grader.calls import RecordedError


class AnswerRecord(TypedDict, total=False):
    """The student's entry in ANSWERS, or why there is none."""

    #: the answer as plain data (question.probe.plain_answer)
    answer: Any
    #: ANSWERS's STUDENT line, where there is one
    student: str | None
    no_answers: bool
    #: ANSWERS is not a dict: the name of what it is
    not_dict: str
    #: no entry for this question, and the entries there are
    missing: bool
    keys: list[str]
    error: RecordedError
