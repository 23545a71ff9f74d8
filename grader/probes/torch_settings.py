"""torch's process-wide settings, kept per learner module, so that one module's code cannot change
another's verdicts through them.

All of a submission's exercises run in one child. A learner's code that switches gradients off
(`torch.set_grad_enabled(False)` inside a hand-written derivative), changes the default dtype or
device, or matplotlib's rcParams, at import or in a call, would otherwise change how every later
exercise runs: right work elsewhere failed, and the feedback named the wrong exercise. So the child
restores these settings to what they were at its start before it imports each module, notes them
once the module is imported (a module another one imported first: as that import left them), and
restores that note before each of the module's exercises: an exercise runs as its own module's import
left things, whatever other modules or earlier calls did.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TorchSettings:
    default_dtype: torch.dtype
    default_device: torch.device
    grad_enabled: bool
    deterministic: bool
    deterministic_warn_only: bool
    anomaly: bool
    anomaly_check_nan: bool
    rc_params: dict[str, Any] | None  # matplotlib's, once it is imported

    @classmethod
    def now(cls) -> TorchSettings:
        return cls(torch.get_default_dtype(), torch.get_default_device(), torch.is_grad_enabled(),
                   torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
                   torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled(), _rc_params())

    def restore(self) -> None:
        """Set back what differs (a setter called for nothing could still cost, or push a mode)."""
        if torch.get_default_dtype() != self.default_dtype:
            torch.set_default_dtype(self.default_dtype)
        if torch.get_default_device() != self.default_device:
            torch.set_default_device(None if self.default_device == torch.device("cpu") else self.default_device)
        if torch.is_grad_enabled() != self.grad_enabled:
            torch.set_grad_enabled(self.grad_enabled)
        if (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()) != \
                (self.deterministic, self.deterministic_warn_only):
            torch.use_deterministic_algorithms(self.deterministic, warn_only=self.deterministic_warn_only)
        if (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()) != (self.anomaly, self.anomaly_check_nan):
            torch.set_anomaly_enabled(self.anomaly, self.anomaly_check_nan)
        if self.rc_params is not None:
            _restore_rc_params(self.rc_params)


def _rc_params() -> dict[str, Any] | None:
    matplotlib = sys.modules.get("matplotlib")
    return None if matplotlib is None else dict(matplotlib.rcParams)


def _restore_rc_params(saved: dict[str, Any]) -> None:
    import matplotlib
    changed = {}
    for key, value in saved.items():
        try:
            if matplotlib.rcParams[key] != value:
                changed[key] = value
        except Exception:  # a value that cannot be compared (an array): set it back
            changed[key] = value
    if changed:
        dict.update(matplotlib.rcParams, changed)  # the values were validated when they were first set
