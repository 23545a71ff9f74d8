"""`torch.compile` in graded code returns the function (or module) itself, which then runs eagerly.

Compiling is an optimisation with the same results; under the grader it would only cost: each case's
first call compiles for seconds (against a limit of a few CPU seconds per step), and the compiler
traces through the recorders of forbidden calls, which it cannot handle. So a learner's
`@torch.compile`, `torch.compile(fn, mode=...)` or `torch.compile(model)` gets the eager function, as
`torch.compile(..., disable=True)` would give it, and the same verdict on every machine.
"""
from __future__ import annotations

from typing import Any, Callable

import torch


def eager_compile(model: Callable | None = None, **options: Any) -> Any:
    """torch.compile's signature; the function or module handed back unchanged."""
    if model is None:
        return lambda fn: fn  # used as @torch.compile(...) with options
    return model


def run_compiled_code_eagerly() -> None:
    torch.compile = eager_compile  # type: ignore[assignment]
