"""The values kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from grader.spec.checks import CheckBase, DType, Tolerance


class ValuesCheck(CheckBase):
    """Student output against the reference's, element by element."""

    kind: Literal["values"]
    needs_reference: ClassVar[bool] = True
    needs_cases: ClassVar[bool] = True
    judges_values: ClassVar[bool] = True
    strided_cases: ClassVar[bool] = True
    #: per dtype, overrides torch.testing.assert_close's rtol and atol
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)
