"""The gradient kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from grader.spec.checks import CheckBase, DType, Tolerance


class GradientCheck(CheckBase):
    """Autograd through the student's function against autograd through the reference."""

    kind: Literal["gradient"]
    needs_reference: ClassVar[bool] = True
    needs_cases: ClassVar[bool] = True
    kink_cases: ClassVar[bool] = True
    strided_cases: ClassVar[bool] = True
    #: a gradient right in one dtype can be wrong in the other (an overflow only float32 reaches)
    default_dtypes: ClassVar[tuple[str, ...] | None] = ("float32", "float64")
    wrt: list[str] | None = Field(default=None, description="arguments to differentiate; default every float input")
    #: per dtype, overrides torch.testing.assert_close's rtol and atol
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)
