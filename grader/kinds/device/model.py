"""The device kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from grader.spec.checks import CheckBase


class DeviceCheck(CheckBase):
    """Works on CUDA; checked on a GPU simulated on the CPU where there is none."""

    kind: Literal["device"]
    needs_cases: ClassVar[bool] = True
