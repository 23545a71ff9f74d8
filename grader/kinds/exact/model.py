"""The exact kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from grader.spec.checks import InitCheckBase


class ExactCheck(InitCheckBase):
    """Deterministic routines against the reference exactly: filled values, ints, floats, or the same exception."""

    kind: Literal["exact"]
    needs_reference: ClassVar[bool] = True
