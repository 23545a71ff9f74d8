"""The forbid kind as written in exercise YAML."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

from pydantic import Field

from grader.spec.checks import CheckBase
from grader.spec.refs import aten_op_exists


class ForbidCheck(CheckBase):
    """The student's function must not reach the built-in it is asked to write."""

    kind: Literal["forbid"]
    needs_cases: ClassVar[bool] = True
    ops: list[str] | None = Field(default=None, description="aten ops; default: the exercise's forbid list")

    def course_errors(self, exercise: Any, course_root: Path) -> Iterator[tuple[tuple, str]]:
        ops = self.ops if self.ops is not None else exercise.forbid
        if not ops:
            yield (), "a forbid check needs ops: list them in the exercise's 'forbid' or the check's 'ops'"
        for index, op in enumerate(self.ops or []):
            if not aten_op_exists(op):
                yield ("ops", index), f"'{op}' is not an aten operator"
