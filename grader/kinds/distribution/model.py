"""The distribution kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, NonNegativeInt, model_validator

from grader.spec.checks import InitCheckBase


class DistributionCheck(InitCheckBase):
    """A random initialiser's values against the reference's: two-sample KS, repeats, and (uniform) exact bounds."""

    kind: Literal["distribution"]
    needs_reference: ClassVar[bool] = True
    shapes: list[list[NonNegativeInt]] = Field(default_factory=lambda: [[256, 512], [64, 16, 3, 3]], min_length=1)
    bounds: bool = Field(default=False, description="uniform routines: inside the exact interval of the reference's "
                                                    "Tensor.uniform_(low, high) call, reaching near both ends")

    @model_validator(mode="after")
    def _big_enough(self) -> "DistributionCheck":
        import math
        for shape in self.shapes:
            if math.prod(shape) < 1000:
                raise ValueError(f"shapes: {shape} has {math.prod(shape)} elements; a distribution needs at least "
                                 f"1000 (the course uses 256 × 512 and 64 × 16 × 3 × 3)")
        return self
