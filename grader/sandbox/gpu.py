"""Does CUDA work inside the sandbox? Asked once per grading run, on machines where torch sees a GPU.

A GPU the grader's own process can use may still be out of a confined child's reach (a driver in an
unusual folder, a kernel that refuses something the driver does). Then every CUDA case would fail
and be blamed on the learner. Grading instead goes on as on a machine without a GPU, so the scores
are the ones any other machine gives, and the teacher is told why.
"""
from __future__ import annotations

import tempfile
from typing import Any

from .api import Job, Limits
from .server_client import ForkServer

TARGET = "grader.sandbox.gpu:use_cuda"


def use_cuda(argument: dict[str, Any], steps) -> None:
    """In the child: start CUDA and add two numbers on the GPU, as a learner's function would."""
    steps.start("cuda")
    import torch
    x = torch.arange(4.0, device="cuda")
    assert float((x * 2).sum().item()) == 12.0
    steps.done("cuda")


def problem_in_sandbox(preload: tuple[str, ...] = (), limits: Limits = Limits(step_s=60, total_s=90)) -> str | None:
    """None where a confined child can use CUDA; else the child's own words for what went wrong.

    `preload`: the modules the grading servers warm up with, so the child starts from the same state."""
    with tempfile.TemporaryDirectory(prefix="torchgrade-cuda-") as workdir, ForkServer(preload) as server:
        outcome = server.run(Job(TARGET, {}, workdir=workdir, limits=limits, gpu=True))
    if outcome.ok:
        return None
    lines = [line for line in (outcome.stderr or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"the check stopped ({outcome.reason})"
