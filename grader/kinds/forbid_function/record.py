"""What the init_calls probe sends back (grader.probes.init.calls_probe)."""
from __future__ import annotations

from typing import Any, TypedDict

from grader.calls import RecordedError


class CallsRecord(TypedDict, total=False):
    """Which of the named Python functions ran during the call."""

    #: the identities (or bytecode fingerprints) of the named functions that ran
    called: list[list[Any]]
    #: the profiler was still in place when the call returned
    recorder_intact: bool
    error: RecordedError
