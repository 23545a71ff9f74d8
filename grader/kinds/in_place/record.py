"""What the init_in_place probe sends back (grader.probes.init.in_place_probe)."""
from __future__ import annotations

from typing import Any

from grader.calls import FillRecord, RecordedError

__all__ = ["FillRecord", "InPlaceRecord"]


class InPlaceRecord(FillRecord, total=False):
    """The fill, and what became of the parameter handed over."""

    #: the CPU run raised: other devices are not checked
    cpu_error: RecordedError
    #: the parameter after the call: type, requires_grad, is_leaf, has_grad_fn, dtype, shape, device
    after: dict[str, Any]
