"""What the grad probe sends back (grader.probes.core.grad_probe)."""
from __future__ import annotations

from typing import TypedDict

from grader.calls import EncodedValue, RecordedError


class GradRecord(TypedDict, total=False):
    """The gradient of each differentiated input, or why there is none."""

    #: argument name → its gradient (None: the output does not depend on it)
    grads: dict[str, EncodedValue | None]
    #: the output, where no gradient could be taken (not a tensor, another shape, no autograd history)
    output: EncodedValue
    #: the output holds no autograd history: the function left the graph
    graph_cut: bool
    error: RecordedError
    #: "backward" where the error came from back-propagating, not from the call
    during: str
    #: a strided call's record on contiguous copies of the same numbers (the same keys)
    contiguous: dict
