"""The derivative kind as written in exercise YAML."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

from pydantic import Field

from grader.spec.checks import CheckBase, DType, Tolerance
from grader.spec.refs import ReferenceError_, resolve_callable


class DerivativeCheck(CheckBase):
    """A hand-written derivative against autograd of `of`."""

    kind: Literal["derivative"]
    needs_cases: ClassVar[bool] = True
    kink_cases: ClassVar[bool] = True
    strided_cases: ClassVar[bool] = True
    #: a gradient right in one dtype can be wrong in the other (an overflow only float32 reaches)
    default_dtypes: ClassVar[tuple[str, ...] | None] = ("float32", "float64")
    of: str | None = Field(default=None, description="the function whose derivative this is, e.g. torch.sigmoid; "
                                                     "left out only in a student bundle, whose `expected` file holds the values")
    #: elementwise: f'(x) per element; jacobian: the matrix of a vector function
    form: Literal["elementwise", "jacobian"] = "elementwise"
    #: per dtype, overrides torch.testing.assert_close's rtol and atol
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)

    def course_errors(self, exercise: Any, course_root: Path) -> Iterator[tuple[tuple, str]]:
        if self.of is not None:
            try:
                resolve_callable(course_root, self.of)
            except ReferenceError_ as exc:
                yield ("of",), str(exc)
        elif exercise.expected is None:
            yield (), "a derivative check needs 'of': the function whose derivative this is, e.g. torch.sigmoid"
