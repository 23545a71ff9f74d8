"""The finite kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from grader.spec.checks import CheckBase


class FiniteCheck(CheckBase):
    """Every number the function returns is finite (no nan, no inf), whatever its value: for inputs where a
    naive formula overflows, such as exp of large logits. Its cases come from `inputs`/`cases`, or an
    earlier check's; no reference is needed."""

    kind: Literal["finite"]
    needs_cases: ClassVar[bool] = True
