"""Initialiser exercises, graded through the real sandbox: right work gets full marks, each mistake costs its own check."""
from __future__ import annotations

import pytest

from conftest import REPO, check_of, scores

INIT = ["uniform_", "normal_", "zeros_", "ones_", "constant_", "fan_in_and_fan_out", "calculate_gain",
        "kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_"]

#: Right, and spelled differently from the reference: torch.rand / torch.randn and an affine map, and every
#: function standalone, so a mistake appended below breaks exactly one exercise.
ALTERNATIVE = '''
import math
import torch


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    u = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    with torch.no_grad():
        tensor.copy_(a + (b - a) * u)
    return tensor


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    z = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    with torch.no_grad():
        tensor.copy_(z * std + mean)
    return tensor


def zeros_(tensor):
    with torch.no_grad():
        return tensor.zero_()


def ones_(tensor):
    with torch.no_grad():
        return tensor.fill_(1)


def constant_(tensor, val):
    with torch.no_grad():
        return tensor.fill_(val)


def fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("need at least 2 dimensions")
    k = math.prod(tensor.shape[2:])
    return tensor.shape[1] * k, tensor.shape[0] * k


def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d", "sigmoid"):
        return 1
    if nonlinearity == "tanh":
        return 5 / 3
    if nonlinearity == "relu":
        return 2 ** 0.5
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError("not a number")
        return (2 / (1 + slope ** 2)) ** 0.5
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(nonlinearity)


def _fans(w):
    k = math.prod(w.shape[2:])
    return w.shape[1] * k, w.shape[0] * k


def _gain(nonlinearity, a):
    if nonlinearity == "leaky_relu":
        return math.sqrt(2 / (1 + a * a))
    return {"relu": math.sqrt(2), "tanh": 5 / 3, "selu": 0.75}.get(nonlinearity, 1)


def _draw(tensor, values):
    with torch.no_grad():
        tensor.copy_(values)
    return tensor


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    z = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    return _draw(tensor, z * (_gain(nonlinearity, a) / math.sqrt(fan)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    bound = math.sqrt(3) * _gain(nonlinearity, a) / math.sqrt(fan)
    u = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    return _draw(tensor, (2 * u - 1) * bound)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _fans(tensor)
    z = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    return _draw(tensor, z * gain * math.sqrt(2 / (fan_in + fan_out)))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    return _draw(tensor, torch.empty_like(tensor).uniform_(-bound, bound, generator=generator))
'''

#: name: (exercise, the checks it must fail — all others of every exercise pass, a redefinition appended)
MISTAKES = {
    "kaiming_fan_out_as_default_mode": ("kaiming_normal_", {"distribution", "conv"}, '''
def kaiming_normal_(tensor, a=0.0, mode="fan_out", nonlinearity="leaky_relu", generator=None):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    with torch.no_grad():
        return tensor.normal_(0, _gain(nonlinearity, a) / math.sqrt(fan), generator=generator)
'''),
    "xavier_normal_missing_the_factor_2": ("xavier_normal_", {"distribution", "conv"}, '''
def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _fans(tensor)
    with torch.no_grad():
        return tensor.normal_(0, gain * math.sqrt(1 / (fan_in + fan_out)), generator=generator)
'''),
    "uniform_returns_a_new_tensor": ("uniform_", {"in_place"}, '''
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return a + (b - a) * torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
'''),
    "normal_ignores_generator": ("normal_", {"generator"}, '''
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    with torch.no_grad():
        return tensor.normal_(mean, std)
'''),
    "constant_without_no_grad": ("constant_", {"in_place"}, '''
def constant_(tensor, val):
    return tensor.fill_(val)
'''),
    "tanh_gain_of_one": ("calculate_gain", {"exact"}, '''
_right_gain = calculate_gain

def calculate_gain(nonlinearity, param=None):
    return 1 if nonlinearity == "tanh" else _right_gain(nonlinearity, param)
'''),
    "fans_ignore_the_receptive_field": ("fan_in_and_fan_out", {"exact"}, '''
def fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("need at least 2 dimensions")
    return tensor.shape[1], tensor.shape[0]
'''),
    "fans_without_value_error": ("fan_in_and_fan_out", {"too_few_dims"}, '''
def fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        return 1, 1
    k = math.prod(tensor.shape[2:])
    return tensor.shape[1] * k, tensor.shape[0] * k
'''),
    "kaiming_uniform_bound_without_sqrt3": ("kaiming_uniform_", {"distribution", "conv"}, '''
def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    bound = _gain(nonlinearity, a) / math.sqrt(_fans(tensor)[0 if mode == "fan_in" else 1])
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)
'''),
    "xavier_uniform_rows_all_equal": ("xavier_uniform_", {"distribution", "conv"}, '''
def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    row = torch.empty_like(tensor[0]).uniform_(-bound, bound, generator=generator)
    return _draw(tensor, row.expand_as(tensor))
'''),
    "zeros_calls_torch_nn_init": ("zeros_", {"forbid_function"}, '''
from torch.nn.init import zeros_ as _torch_zeros_

def zeros_(tensor):
    return _torch_zeros_(tensor)
'''),
    "kaiming_normal_made_on_the_cpu": ("kaiming_normal_", {"device"}, '''
def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    z = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
    std = torch.full(tensor.shape, _gain(nonlinearity, a) / math.sqrt(fan), dtype=tensor.dtype)  # on the CPU
    return _draw(tensor, z * std)
'''),
    # the draw made on the CPU and added in place: a GPU refuses it, and the meta device standing in for
    # one now does too (torch's Python meta kernel of add_ let it through)
    "normal_added_in_place_from_the_cpu": ("normal_", {"device"}, '''
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    with torch.no_grad():
        return tensor.zero_().add_(torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype) * std + mean)
'''),
}


def failing_checks(result) -> dict[str, set[str]]:
    return {e.id: {c.name for c in e.checks if c.status != "passed"} for e in result.exercises
            if any(c.status != "passed" for c in e.checks)}


def test_reference_solutions_score_full_marks_on_every_initializer_exercise(grade_files):
    result = grade_files({"initializers.py": (REPO / "solutions/initializers.py").read_text()}, exercises=INIT)
    assert failing_checks(result) == {}
    assert result.score == result.max_score > 0


def test_sampling_with_rand_or_randn_and_an_affine_map_gets_full_marks(grade_files):
    result = grade_files({"initializers.py": ALTERNATIVE}, exercises=INIT)
    assert failing_checks(result) == {}
    assert sorted(scores(result)) == sorted(INIT)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_fails_exactly_its_own_exercise_and_checks(grade_files, mistake):
    exercise, checks, redefinition = MISTAKES[mistake]
    result = grade_files({"initializers.py": ALTERNATIVE + redefinition}, exercises=INIT)
    assert failing_checks(result) == {exercise: checks}


def test_example_submissions_alice_full_marks_bob_loses_exactly_his_marked_mistakes(grade_files):
    alice = grade_files({"initializers.py": (REPO / "examples/alice/initializers.py").read_text()},
                        exercises=INIT, name="alice")
    assert failing_checks(alice) == {}
    bob = grade_files({"initializers.py": (REPO / "examples/bob/initializers.py").read_text()},
                      exercises=INIT, name="bob")
    assert failing_checks(bob) == {
        "uniform_": {"in_place"}, "normal_": {"generator"}, "zeros_": {"forbid_function"},
        "constant_": {"in_place"}, "fan_in_and_fan_out": {"exact", "too_few_dims"},
        "calculate_gain": {"exact", "unsupported"}, "kaiming_normal_": {"distribution", "conv"},
        "kaiming_uniform_": {"distribution", "conv"}, "xavier_normal_": {"distribution", "conv"},
        "xavier_uniform_": {"distribution", "conv"},
    }


def test_starter_scores_zero_even_on_the_simulated_gpu(grade_files):
    result = grade_files({"initializers.py": (REPO / "examples/starter/initializers.py").read_text()},
                         exercises=INIT, name="starter")
    assert result.score == 0
    assert "It must run on the CPU before" in check_of(result, "uniform_", "device").feedback


@pytest.mark.parametrize("spelling", [
    "from torch.nn.init import kaiming_normal_ as k\nkaiming_normal_ = lambda t, **kw: k(t, **kw)",
    "import torch.nn as nn\ndef kaiming_normal_(t, **kw):\n    return getattr(nn.init, 'kaiming_' + 'normal_')(t, **kw)",
    "import warnings, torch\ndef kaiming_normal_(t, **kw):\n    with warnings.catch_warnings():\n"
    "        warnings.simplefilter('ignore')\n        return torch.nn.init.kaiming_normal(t, **kw)",
])
def test_calling_the_torch_routine_is_caught_however_it_is_reached(grade_files, spelling):
    result = grade_files({"initializers.py": spelling}, exercises=["kaiming_normal_"])
    assert failing_checks(result) == {"kaiming_normal_": {"forbid_function"}}
    assert "torch.nn.init.kaiming_normal_" in check_of(result, "kaiming_normal_", "forbid_function").feedback


def test_switching_off_the_call_recorder_fails_the_forbid_check(grade_files):
    source = ALTERNATIVE + "\nimport sys\n_zeros = zeros_\ndef zeros_(tensor):\n    sys.setprofile(None)\n" \
                           "    return _zeros(tensor)\n"
    result = grade_files({"initializers.py": source}, exercises=["zeros_"])
    assert failing_checks(result) == {"zeros_": {"forbid_function"}}
    assert "sys.setprofile" in check_of(result, "zeros_", "forbid_function").feedback


def test_filling_in_place_but_returning_none_costs_in_place_only(grade_files):
    source = ALTERNATIVE + "\n_n = normal_\ndef normal_(tensor, mean=0.0, std=1.0, generator=None):\n" \
                           "    _n(tensor, mean, std, generator)\n"
    result = grade_files({"initializers.py": source}, exercises=["normal_"])
    assert failing_checks(result) == {"normal_": {"in_place"}}
    assert "returned None" in check_of(result, "normal_", "in_place").feedback


def test_switching_off_requires_grad_instead_of_no_grad_is_named(grade_files):
    source = ALTERNATIVE + "\ndef ones_(tensor):\n    tensor.requires_grad_(False)\n    return tensor.fill_(1)\n"
    result = grade_files({"initializers.py": source}, exercises=["ones_"])
    assert failing_checks(result) == {"ones_": {"in_place"}}
    assert "no longer requires grad" in check_of(result, "ones_", "in_place").feedback


@pytest.mark.parametrize("body, says, failing", [
    ("    return _u(tensor, a, b)\n", "different values", {"generator"}),
    ("    torch.rand(1)\n    return _u(tensor, a, b, generator)\n", "global random number generator", {"generator"}),
    # a CPU generator of its own cannot fill a GPU tensor: the device check fails too, on the simulated
    # GPU as on a real one
    ("    g = torch.Generator().manual_seed(7)\n    return _u(tensor, a, b, g)\n", "seeded differently",
     {"generator", "device"}),
])
def test_generator_promises_each_fail_the_generator_check(grade_files, body, says, failing):
    source = ALTERNATIVE + "\n_u = uniform_\ndef uniform_(tensor, a=0.0, b=1.0, generator=None):\n" + body
    result = grade_files({"initializers.py": source}, exercises=["uniform_"])
    assert failing_checks(result) == {"uniform_": failing}
    assert says in check_of(result, "uniform_", "generator").feedback
    if "device" in failing:
        # CUDA's own words, on a GPU and on the simulated one
        assert "Expected a 'cuda' device type for generator" in check_of(result, "uniform_", "device").feedback



@pytest.mark.parametrize("made_by", ["torch.Generator", "Generator"])
def test_a_generator_made_for_the_tensors_own_device_is_no_device_error(grade_files, made_by):
    # a generator of the tensor's own device is right on a GPU, and on the simulated GPU too, however
    # torch.Generator was imported; a fresh one for generator=None breaks only the generator promise
    source = ALTERNATIVE + f"""
from torch import Generator
_u = uniform_
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    own = {made_by}(device=tensor.device)
    return _u(tensor, a, b, generator if generator is not None else own)
"""
    result = grade_files({"initializers.py": source}, exercises=["uniform_"])
    assert failing_checks(result) == {"uniform_": {"generator"}}
    assert "global" in check_of(result, "uniform_", "generator").feedback


def test_filling_through_an_in_place_transpose_passes_on_the_simulated_gpu(grade_files):
    # right on a GPU: the draw is made transposed, turned back with t_() and copied in. The
    # simulated GPU must follow t_()'s change of shape, or the copy fails there alone.
    source = ALTERNATIVE + """
_u = uniform_
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    if tensor.dim() != 2:
        return _u(tensor, a, b, generator)
    with torch.no_grad():
        draw = torch.empty(tensor.shape[::-1], dtype=tensor.dtype, device=tensor.device)
        draw.uniform_(a, b, generator=generator).t_()
        return tensor.copy_(draw)
"""
    result = grade_files({"initializers.py": source}, exercises=["uniform_"])
    assert failing_checks(result) == {}


def test_switching_the_call_recorder_off_and_on_again_fails_the_forbid_check(grade_files):
    source = ALTERNATIVE + """
import sys
def zeros_(tensor):
    watching = sys.getprofile()
    sys.setprofile(None)
    try:
        return torch.nn.init.zeros_(tensor)
    finally:
        sys.setprofile(watching)
"""
    result = grade_files({"initializers.py": source}, exercises=["zeros_"])
    assert failing_checks(result) == {"zeros_": {"forbid_function"}}
    assert "sys.setprofile" in check_of(result, "zeros_", "forbid_function").feedback
