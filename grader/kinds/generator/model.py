"""The generator kind as written in exercise YAML."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt

from grader.spec.checks import InitCheckBase


class GeneratorCheck(InitCheckBase):
    """Honours `generator`: equal seeds, equal values; other seeds, other values; the global RNG untouched."""

    kind: Literal["generator"]
    shapes: list[list[NonNegativeInt]] = Field(default_factory=lambda: [[64, 32]], min_length=1)
