"""Code wrapped in torch.compile is graded as the eager code it compiles, on every machine."""
from __future__ import annotations

import pytest

from conftest import check_of


@pytest.mark.parametrize("wrapped", [
    "@torch.compile\ndef relu(x):\n    return torch.where(x > 0, x, torch.zeros_like(x))\n",
    "@torch.compile(mode='reduce-overhead', dynamic=True)\ndef relu(x):\n"
    "    return torch.where(x > 0, x, torch.zeros_like(x))\n",
    "from torch import compile as jit\ndef _relu(x):\n    return torch.where(x > 0, x, torch.zeros_like(x))\n"
    "relu = jit(_relu, fullgraph=True)\n",
])
def test_compiled_right_work_gets_full_marks(grade_files, wrapped):
    result = grade_files({"activations.py": "import torch\n" + wrapped}, exercises=["relu"])
    exercise = next(e for e in result.exercises if e.id == "relu")
    assert exercise.score == exercise.max_score > 0, [(c.name, c.feedback) for c in exercise.checks]


def test_a_forbidden_call_inside_compiled_code_is_still_seen(grade_files):
    result = grade_files({"activations.py": "import torch\n@torch.compile\ndef relu(x):\n    return torch.relu(x)\n"},
                         exercises=["relu"])
    assert check_of(result, "relu", "forbid").status == "failed"
    assert check_of(result, "relu", "values").status == "passed"
