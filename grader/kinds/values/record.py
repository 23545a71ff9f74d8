"""What the call probe sends back (grader.probes.core.call_probe); values and derivative read it."""
from __future__ import annotations

from typing import TypedDict

from grader.calls import EncodedValue, RecordedError


class CallRecord(TypedDict, total=False):
    """The function's output, and the inputs it wrote into; or the error it raised."""

    output: EncodedValue
    #: the names of the arguments whose tensors changed during the call
    inputs_changed: list[str]
    error: RecordedError
    #: a strided call's record on contiguous copies of the same numbers (its output, or its error)
    contiguous: dict
