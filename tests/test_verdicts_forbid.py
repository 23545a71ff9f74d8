"""Forbidden calls are seen on every call of the exercise, whatever the function can observe.

The recorder is in place during the values, gradient, device and hidden calls alike, so neither
recognising the forbid check's inputs nor looking for a dispatch mode lets a forbidden call through;
derivative exercises forbid asking autograd for the derivative.
"""
from __future__ import annotations

import pytest

from conftest import check_of

STABLE = """
import torch
def _sigmoid(x):
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
"""


@pytest.mark.parametrize("body", [
    "t = x.detach().requires_grad_(True)\n    return torch.autograd.grad(_sigmoid(t).sum(), t)[0].to(x.dtype)",
    "t = x.clone().requires_grad_(True)\n    _sigmoid(t).sum().backward()\n    return t.grad",
    "return torch.func.vmap(torch.func.grad(_sigmoid))(x.reshape(-1)).reshape(x.shape)",
    "return torch.func.jvp(_sigmoid, (x,), (torch.ones_like(x),))[1]",
])
def test_sigmoid_grad_that_asks_autograd_loses_the_forbid_points(grade_files, body):
    result = grade_files({"activations.py": STABLE + "def sigmoid_grad(x):\n    " + body + "\n"},
                         exercises=["sigmoid_grad"])
    forbid = check_of(result, "sigmoid_grad", "forbid")
    assert forbid.status == "failed"
    assert "autograd" in forbid.feedback


def test_sigmoid_grad_written_by_hand_keeps_the_forbid_points(grade_files):
    result = grade_files({"activations.py": STABLE + "def sigmoid_grad(x):\n    s = _sigmoid(x)\n    return s * (1 - s)\n"},
                         exercises=["sigmoid_grad"])
    assert check_of(result, "sigmoid_grad", "forbid").status == "passed"


def test_a_function_that_cheats_off_the_forbid_checks_inputs_is_caught(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def sigmoid(x):
            if x.dim() >= 3:  # the first public cases are 1-D and 2-D: cheat on the others
                return torch.sigmoid(x)
            e = torch.exp(torch.where(x >= 0, -x, x))
            return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    """}, exercises=["sigmoid"])
    forbid = check_of(result, "sigmoid", "forbid")
    assert forbid.status == "failed" and "aten.sigmoid" in forbid.feedback


@pytest.mark.parametrize("watched", [
    "torch.utils._python_dispatch._get_current_dispatch_mode() is not None",
    "torch._C._len_torch_dispatch_stack() > 0",
    "len(torch.utils._python_dispatch._get_current_dispatch_mode_stack()) > 0",
])
def test_a_function_that_behaves_only_when_watched_is_caught(grade_files, watched):
    result = grade_files({"activations.py": f"""
        import torch
        import torch.utils._python_dispatch
        def sigmoid(x):
            if not ({watched}):
                return torch.sigmoid(x)
            e = torch.exp(torch.where(x >= 0, -x, x))
            return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    """}, exercises=["sigmoid"])
    assert check_of(result, "sigmoid", "forbid").status == "failed"


@pytest.mark.parametrize("on_a_thread", [
    "from concurrent.futures import ThreadPoolExecutor\n"
    "def sigmoid(x):\n    with ThreadPoolExecutor(1) as pool:\n        return pool.submit(torch.sigmoid, x).result()\n",
    "import threading\n"
    "def sigmoid(x):\n    out = {}\n    t = threading.Thread(target=lambda: out.update(y=torch.sigmoid(x)))\n"
    "    t.start(); t.join()\n    return out['y']\n",
])
def test_a_forbidden_call_on_a_thread_of_its_own_earns_nothing(grade_files, on_a_thread):
    # the recorder watches the learner's thread; no other thread may start in a CPU child
    result = grade_files({"activations.py": "import torch\n" + on_a_thread}, exercises=["sigmoid"])
    exercise = next(e for e in result.exercises if e.id == "sigmoid")
    assert exercise.score == 0
    assert "can't start new thread" in check_of(result, "sigmoid", "forbid").feedback
    assert "not on a thread" in check_of(result, "sigmoid", "values").feedback


@pytest.mark.parametrize("around", [
    "torch._C._DisableTorchDispatch()",
    "torch.utils._mode_utils.no_dispatch()",
    "torch._C._ExcludeDispatchKeyGuard(torch._C.DispatchKeySet(torch._C.DispatchKey.Python))",
])
def test_a_forbidden_call_made_past_the_dispatch_modes_is_caught(grade_files, around):
    result = grade_files({"activations.py": f"""
        import torch
        import torch.utils._mode_utils
        def sigmoid(x):
            if type(x) is torch.Tensor:
                with {around}:
                    return torch.sigmoid(x)
            return torch.sigmoid(x) if False else 1 / (1 + torch.exp(-x))
    """}, exercises=["sigmoid"])
    forbid = check_of(result, "sigmoid", "forbid")
    assert forbid.status == "failed", forbid.feedback
