"""A GPU the sandbox cannot use never costs a learner points: grading goes on as without a GPU, and says so.

Runs on every machine: on a CPU-only build torch is told it has a GPU, and the sandboxed child then
really fails to start CUDA, as a child on a badly set-up GPU machine would.
"""
from __future__ import annotations

import pytest
import torch

from grader import plan as run


@pytest.fixture
def pretend_gpu(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; tests/test_cuda.py covers it")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    run.cuda_available.cache_clear()
    yield
    run.cuda_available.cache_clear()


def test_a_gpu_that_fails_inside_the_sandbox_is_not_used_and_the_teacher_is_told(pretend_gpu, capsys):
    assert run.cuda_available() is False
    warning = capsys.readouterr().err
    assert "CUDA does not work inside the grader's sandbox" in warning
    # the child's own words: a CPU build's, or a CUDA build's on a machine without a driver
    assert "Torch not compiled with CUDA enabled" in warning or "Found no NVIDIA driver" in warning
    assert run.cuda_available() is False  # asked once per run
    assert capsys.readouterr().err == ""


def test_then_the_plan_is_the_one_a_cpu_only_machine_builds(pretend_gpu, course, tmp_path):
    plan = run.build_plan(course, hidden=False, exercises=["sigmoid"], workdir=tmp_path)
    assert not plan.context.cuda
    assert {call["device"] for p in plan.prepared["sigmoid"] for call in p.calls} == {"cpu"}
    device_check = next(p for p in plan.prepared["sigmoid"] if p.check.kind == "device")
    assert all(call["options"]["device"] == "model" for call in device_check.calls)


def test_no_cuda_on_purpose(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("TORCHGRADE_NO_CUDA", "1")
    run.cuda_available.cache_clear()
    try:
        assert run.cuda_available() is False
    finally:
        run.cuda_available.cache_clear()
