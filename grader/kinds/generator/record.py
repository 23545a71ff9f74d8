"""What the init_generator probe sends back (grader.probes.init.generator_probe)."""
from __future__ import annotations

from typing import Any, TypedDict

from grader.calls import FillRecord

__all__ = ["FillRecord", "GeneratorRun", "GeneratorRecord"]


class GeneratorRun(FillRecord, total=False):
    """One fill under given seeds, with the global generator's state around it."""

    global_before: Any
    global_after: Any


class GeneratorRecord(TypedDict, total=False):
    """Fills with a generator per seed (runs), then with generator=None (global_runs)."""

    runs: list[GeneratorRun]
    global_runs: list[GeneratorRun]
