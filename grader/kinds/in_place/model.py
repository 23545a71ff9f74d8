"""The in_place kind as written in exercise YAML."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt

from grader.spec.checks import InitCheckBase


class InPlaceCheck(InitCheckBase):
    """Fills the nn.Parameter it is given in place, returns it, no autograd history; any dtype and device."""

    kind: Literal["in_place"]
    shapes: list[list[NonNegativeInt]] = Field(default_factory=lambda: [[32, 16], [8, 4, 3, 3]], min_length=1)
    parameter: bool = Field(default=True, description="hand over an nn.Parameter that requires grad")
