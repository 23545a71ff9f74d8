"""What the finite probe sends back for one call: the contract between the kind's probe and its judge."""
from __future__ import annotations

from typing import TypedDict

from grader.calls import RecordedError


class FiniteRecord(TypedDict, total=False):
    """Counts only, never the output itself: a check of the whole output needs none of its values."""

    #: the function returned a tensor; `type` names what it returned otherwise
    tensor: bool
    type: str
    total: int
    nan: int
    inf: int
    #: the index of the first number that is not finite, or None
    first: list[int] | None
    #: the function raised
    error: RecordedError
