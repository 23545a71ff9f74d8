"""What the init_in_place probe sends back (grader.probes.init.in_place_probe)."""
from __future__ import annotations

from typing import Any, TypedDict

from grader.calls import EncodedValue, RecordedError


class FillRecord(TypedDict, total=False):
    """One call of an initialiser on a fresh tensor (grader.probes.init.fill), or what it raised."""

    #: it returned the tensor it was given
    same_object: bool
    #: the tensor's values after the call (a strided sample where the call asks for one)
    filled: Any
    #: what it returned, where that is not the tensor it was given
    output: EncodedValue
    error: RecordedError
    #: the names of the exception's classes, most derived first
    raised: list[str]


class InPlaceRecord(FillRecord, total=False):
    """The fill, and what became of the parameter handed over."""

    #: the CPU run raised: other devices are not checked
    cpu_error: RecordedError
    #: the parameter after the call: type, requires_grad, is_leaf, has_grad_fn, dtype, shape, device
    after: dict[str, Any]
