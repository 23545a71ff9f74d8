"""What the init_generator probe sends back (grader.probes.init.generator_probe)."""
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


class GeneratorRun(FillRecord, total=False):
    """One fill under given seeds, with the global generator's state around it."""

    global_before: Any
    global_after: Any


class GeneratorRecord(TypedDict, total=False):
    """Fills with a generator per seed (runs), then with generator=None (global_runs)."""

    runs: list[GeneratorRun]
    global_runs: list[GeneratorRun]
