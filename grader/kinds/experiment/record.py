"""What the experiment probe sends back (grader.recording.experiment_probe), for the learner's function in
the child and for the reference in the grader alike."""
from __future__ import annotations

from typing import Any, TypedDict

from grader.calls import EncodedValue, RecordedError


class ExperimentRecord(TypedDict, total=False):
    """One call with the case's keywords, and the reruns the call's options ask for."""

    #: what the first call returned, or what it raised
    output: EncodedValue
    error: RecordedError
    #: the same call again (determinism), one call per keyword override, one per keyword set to draw;
    #: each what it returned or {"error": …}
    again: Any
    changed: list[Any]
    plot: list[Any]
    #: what each distinct F.linear weight held when the first call used it, and its gradient norm after
    layers: list[Any]
    measured: list[Any]
