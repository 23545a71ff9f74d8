"""The device kind as written in exercise YAML."""
from __future__ import annotations

from typing import ClassVar, Literal

from grader.spec.checks import CheckBase


class DeviceCheck(CheckBase):
    """Works on CUDA; proxied on the meta device where there is no GPU."""

    kind: Literal["device"]
    needs_cases: ClassVar[bool] = True
