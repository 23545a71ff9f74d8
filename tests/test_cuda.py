"""The CUDA path, where a GPU exists (skipped elsewhere; see README "GPU")."""
from __future__ import annotations

import pytest
import torch

from conftest import check_of

pytestmark = pytest.mark.cuda


def test_cuda_is_planned_for_values_and_device_checks(course, tmp_path):
    from grader.plan import build_plan
    plan = build_plan(course, hidden=False, exercises=["sigmoid"], workdir=tmp_path)
    assert plan.context.cuda
    devices = {call["device"] for p in plan.prepared["sigmoid"] for call in p.calls}
    assert "cuda" in devices
    device_check = next(p for p in plan.prepared["sigmoid"] if p.check.kind == "device")
    assert all(call["options"]["device"] == "cuda" for call in device_check.calls)


def test_the_solutions_score_full_marks_on_cuda(grade_files, repo):
    files = {path.name: path.read_text() for path in (repo / "solutions").glob("*.py")}  # the whole course
    result = grade_files(files)
    assert result.score == result.max_score, [
        (e.id, c.name, c.feedback) for e in result.exercises for c in e.checks if c.status != "passed"]


def test_a_cpu_tensor_inside_the_function_costs_the_device_check_alone_on_cuda(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def tanh(x):
            one = torch.ones(x.shape, dtype=x.dtype)
            e = torch.exp(-2 * x.abs())
            return torch.sign(x) * (one - e) / (one + e)
    """}, exercises=["tanh"])
    assert check_of(result, "tanh", "device").status == "failed"
    assert check_of(result, "tanh", "values").status == "passed"
