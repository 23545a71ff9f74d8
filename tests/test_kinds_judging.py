"""Each check kind's judging on records made here, without a sandbox: the verdict and the words a mistake gets.

A check is prepared from the shipped course as for a grading; the record of each case is what the child
would send back — the child's own probe (grader.kinds.probes()) run on a function written here, or a
record written by hand — read back through the wire as the grader reads it. The same mistakes graded
through the sandbox are in test_checks_catch_mistakes.py, test_experiments.py and test_initializers.py.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import pytest
import torch

from grader import wire
from grader import kinds
from grader.checks import CaseVerdict, Prepared
from grader.encode import encode_value

from test_experiments import variant

pytestmark = pytest.mark.unit


def sent(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the grader reads it from the child."""
    return wire.loads(wire.dumps(record))


def judge(prepared: Prepared, records: list[dict[str, Any]]) -> list[CaseVerdict]:
    kind = kinds.judge(prepared.check.kind)
    return [kind.judge_case(prepared, case, sent(record)) for case, record in zip(prepared.cases, records)]


def probed(prepared: Prepared, fn: Callable) -> list[CaseVerdict]:
    """Each case's verdict on what the child's probe records of `fn` (the reruns that only draw the
    experiment's picture left out: a verdict never reads them)."""
    records = []
    for call in prepared.calls:
        options = {k: v for k, v in call.get("options", {}).items() if k != "plot"}
        records.append(kinds.probes()[call["probe"]](fn, dict(call, options=options, submission_dir=None)))
    return judge(prepared, records)


def failures(verdicts: list[CaseVerdict]) -> list[CaseVerdict]:
    return [v for v in verdicts if not v.passed]


# --- values and derivative -----------------------------------------------------------------------

def test_values_passes_the_reference_on_every_case(prepare):
    assert failures(probed(prepare("sigmoid", "values"), torch.sigmoid)) == []
    assert failures(probed(prepare("sigmoid", "stability"), torch.sigmoid)) == []


def test_values_names_the_input_where_a_sigmoid_overflows_to_nan(prepare):
    wrong = failures(probed(prepare("sigmoid", "stability"), lambda x: torch.exp(x) / (1 + torch.exp(x))))
    assert wrong, "a sigmoid that overflows to nan passed the stability check"
    assert any("nan" in v.message and "expected 1, got nan for x[" in v.message for v in wrong), wrong


def test_values_fails_a_function_that_changes_its_input_and_says_so(prepare):
    def relu(x):
        x[x < 0] = 0
        return x

    wrong = failures(probed(prepare("relu", "values"), relu))
    assert wrong and all(v.hint_key == "modified_input" for v in wrong)
    assert "Your function changed its input x" in wrong[0].message


def test_values_fails_a_float32_result_for_a_float64_input(prepare):
    wrong = failures(probed(prepare("sigmoid_grad", "values"),
                            lambda x: (torch.sigmoid(x) * (1 - torch.sigmoid(x))).float()))
    assert any("Expected dtype float64" in v.message and "got float32" in v.message for v in wrong), wrong


def test_values_reports_what_the_function_raised(prepare):
    prepared = prepare("sigmoid", "values")
    record = {"error": {"type": "ZeroDivisionError", "message": "division by zero",
                        "where": "activations.py, line 3, in sigmoid", "line": "return 1 / 0"}}
    verdicts = judge(prepared, [record] * len(prepared.cases))
    assert not any(v.passed for v in verdicts)
    assert verdicts[0].message.startswith("Your function raised ZeroDivisionError: division by zero")
    assert "activations.py, line 3, in sigmoid: return 1 / 0" in verdicts[0].message


def test_derivative_fails_a_leaky_relu_gradient_without_its_slope(prepare):
    assert failures(probed(prepare("leaky_relu_grad", "derivative"),
                           lambda x, negative_slope=0.01: torch.where(x > 0, torch.ones_like(x),
                                                                      torch.full_like(x, negative_slope)))) == []
    # torch.where with two Python numbers makes a float32 tensor: its slope is 0.01 rounded to float32,
    # 2.2e-8 relative, within float64's relative tolerance (torch's 1e-7)
    assert failures(probed(prepare("leaky_relu_grad", "derivative"),
                           lambda x, negative_slope=0.01: torch.where(x > 0, 1.0, negative_slope).to(x.dtype))) == []
    assert failures(probed(prepare("leaky_relu_grad", "derivative"),
                           lambda x, negative_slope=0.01: (x > 0).to(x.dtype)))


# --- gradient ------------------------------------------------------------------------------------

def test_gradient_passes_autograd_of_the_reference(prepare):
    assert failures(probed(prepare("sigmoid", "gradient"), torch.sigmoid)) == []


def test_gradient_names_a_graph_cut_by_detach(prepare):
    wrong = failures(probed(prepare("sigmoid", "gradient"), lambda x: torch.sigmoid(x).detach()))
    assert wrong and all(v.hint_key == "graph_cut" for v in wrong)
    assert "not connected to its inputs in the autograd graph" in wrong[0].message


def test_gradient_fails_a_partial_detach_on_the_gradient_it_gets_wrong(prepare):
    # right values, but the input detached inside: the gradient that flows back is 0, not σ'(x)
    wrong = failures(probed(prepare("sigmoid", "gradient"), lambda x: 1 / (1 + torch.exp(-x.detach())) + 0 * x))
    assert wrong and all(v.hint_key == "gradient" for v in wrong)
    assert "The gradient with respect to x is wrong." in wrong[0].message


def test_gradient_says_the_backward_pass_raised(prepare):
    prepared = prepare("sigmoid", "gradient")
    record = {"error": {"type": "RuntimeError", "message": "one of the variables needed for gradient computation "
                                                           "has been modified by an inplace operation"},
              "during": "backward"}
    verdict = judge(prepared, [record])[0]
    assert not verdict.passed and verdict.hint_key == "gradient"
    assert verdict.message.startswith("Back-propagating through your function raised RuntimeError")


# --- forbid --------------------------------------------------------------------------------------

def test_forbid_names_the_builtin_the_function_reached(prepare):
    prepared = prepare("sigmoid", "forbid")
    verdict = judge(prepared, [{"ops": ["aten.sigmoid.default"], "recorder_intact": True, "calls": 7,
                                "returned": 7}])[0]
    assert not verdict.passed and verdict.hint_key == "forbid"
    assert "Your function reached torch's built-in sigmoid" in verdict.message
    assert "on at least one of the 7 inputs it was called with" in verdict.message


def test_forbid_passes_a_function_that_computes_it_itself(prepare):
    prepared = prepare("sigmoid", "forbid")
    ops = ["aten.exp.default", "aten.neg.default", "aten.add.Tensor", "aten.reciprocal.default"]
    assert judge(prepared, [{"ops": ops, "recorder_intact": True, "calls": 7, "returned": 7}])[0].passed


def test_forbid_fails_a_function_that_removed_the_recorder(prepare):
    prepared = prepare("sigmoid", "forbid")
    verdict = judge(prepared, [{"ops": [], "recorder_intact": False, "calls": 7, "returned": 7}])[0]
    assert not verdict.passed and "changed PyTorch's dispatch mode stack" in verdict.message


def test_forbid_needs_a_function_that_ran(prepare):
    prepared = prepare("sigmoid", "forbid")
    record = {"ops": [], "recorder_intact": True, "calls": 1, "returned": 0,
              "error": {"type": "NameError", "message": "name 'np' is not defined"}}
    verdict = judge(prepared, [record])[0]
    assert not verdict.passed and "It must run before it can be checked for forbidden calls." in verdict.message


# --- device --------------------------------------------------------------------------------------

def test_device_fails_a_result_that_left_the_gpu(prepare):
    prepared = prepare("sigmoid", "device")
    on_cpu = {"device": "model", "output": encode_value(torch.zeros(3))}
    on_gpu = {"device": "model", "output": {**encode_value(torch.zeros(3)), "device": "cuda:0"}}
    left, stayed = judge(prepared, [on_cpu])[0], judge(prepared, [on_gpu])[0]
    assert stayed.passed
    assert not left.passed and left.hint_key == "device" and "must be a tensor on the input's device" in left.message


def test_device_tells_a_device_error_from_a_cpu_error(prepare):
    prepared = prepare("sigmoid", "device")
    error = {"type": "RuntimeError", "message": "Expected all tensors to be on the same device"}
    on_device = judge(prepared, [{"device": "model", "error": error}])[0]
    on_cpu = judge(prepared, [{"cpu_error": error}])[0]
    assert on_device.hint_key == "device" and "torch.zeros_like(x)" in on_device.message
    assert on_cpu.hint_key == "error" and "It must run on the CPU before it can be checked" in on_cpu.message


# --- experiment (gradient_norms), on the recipe of test_experiments with one line replaced ------------

def experiment_failures(prepare, source: str, checks: tuple[str, ...]) -> dict[str, str]:
    """{check label: the first failing case's message} of those of gradient_norms's checks that fail on the
    recipe `source`."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "experiments.py", "exec"), namespace)
    out = {}
    for check in checks:
        wrong = failures(probed(prepare("gradient_norms", check), namespace["gradient_norms"]))
        if wrong:
            out[check] = wrong[0].message
    return out


@pytest.mark.parametrize("check", ["every_layer_gets_a_gradient", "same_recipe", "independent_layers", "seeded"])
def test_experiment_passes_the_recipe(prepare, check):
    assert experiment_failures(prepare, variant(), (check,)) == {}


@pytest.mark.parametrize("replace, failing, words", [
    ({"BACKWARD": "pass", "RETURN": "return [0.0 if l.weight.grad is None else l.weight.grad.norm().item() "
                                    "for l in linears]"},
     "every_layer_gets_a_gradient", "Every number must be above 0, but number 1 is 0."),
    ({"LOSS": "loss = nn.Sequential(*layers)(x).pow(2).sum()"}, "same_recipe", "Every number is 8192 × the reference's"),
    ({"LOSS": "loss = nn.Sequential(*layers)(x).mean()"}, "same_recipe", ""),
    ({"PER-LAYER": "torch.manual_seed(seed)"}, "independent_layers", "Layers 1 and 2 start with exactly the same weights"),
    ({"SEED": "torch.manual_seed(0)"}, "seeded",
     "Called with seed=1 instead of 0, your function returned exactly the same numbers"),
    ({"SEED": "pass"}, "seeded", "Called twice with the same arguments, your function returned different numbers"),
    ({"RETURN": "return [l.weight.grad.norm().item() for l in linears][::-1]"}, "sigmoid_gradients_vanish",
     "The ratio the first / the last number is"),
    ({"RETURN": "return [p.grad.norm().item() for l in linears for p in (l.weight, l.bias)]"}, "one_norm_per_layer",
     "Expected 10 numbers (depth=10), got 20."),
])
def test_experiment_fails_each_mistake_on_the_property_that_names_it(prepare, replace, failing, words):
    failed = experiment_failures(prepare, variant(**replace), (failing,))
    assert failing in failed, failed
    assert words in failed[failing]


def test_experiment_feedback_names_the_constant_factor_of_a_sum_for_a_mean(prepare):
    failed = experiment_failures(prepare, variant(LOSS="loss = nn.Sequential(*layers)(x).pow(2).sum()"),
                                 ("same_recipe", "every_layer_gets_a_gradient"))
    assert set(failed) == {"same_recipe"}
    assert "a sum where a mean belongs" in failed["same_recipe"]


def test_experiment_reports_an_error_with_the_exercises_hint(prepare):
    failed = experiment_failures(prepare, variant(BACKWARD="pass"), ("one_norm_per_layer",))
    assert "AttributeError" in failed["one_norm_per_layer"]


# --- initialisers: in place, and the generator ------------------------------------------------------

def test_in_place_passes_the_reference_and_fails_a_new_tensor(prepare):
    prepared = prepare("ones_", "in_place")

    def ones_(tensor):
        with torch.no_grad():
            return tensor.fill_(1.0)

    assert failures(probed(prepared, ones_)) == []
    wrong = failures(probed(prepared, lambda tensor: torch.ones_like(tensor)))
    assert wrong and "not the tensor it was given" in wrong[0].message


def test_in_place_tells_a_fill_outside_no_grad_to_use_it(prepare):
    wrong = failures(probed(prepare("ones_", "in_place"), lambda tensor: tensor.mul_(0).add_(1)))
    assert wrong and all("Fill the tensor inside `with torch.no_grad():`" in v.message for v in wrong), wrong


def test_generator_fails_an_initialiser_that_ignores_the_generator(prepare):
    prepared = prepare("uniform_", "generator")

    def uniform_(tensor, a=0.0, b=1.0, generator=None):
        with torch.no_grad():
            return tensor.uniform_(a, b, generator=generator)

    assert failures(probed(prepared, uniform_)) == []
    wrong = failures(probed(prepared, lambda tensor, a=0.0, b=1.0, generator=None: uniform_(tensor, a, b)))
    assert wrong and "Two calls with generators seeded alike gave different values" in wrong[0].message


# --- non-contiguous inputs ------------------------------------------------------------------------

def _contiguous_only_relu(x):
    """Right on contiguous memory only: a walk over x's storage as if it were laid out row by row."""
    flat = torch.empty(x.numel(), dtype=x.dtype).copy_(torch.as_strided(x, (x.numel(),), (1,)))
    return torch.where(flat > 0, flat, 0.0).reshape(x.shape)


def test_one_case_a_check_hands_over_non_contiguous_views_and_right_work_passes_it(prepare):
    for exercise, check, fn in (("relu", "values", lambda x: torch.where(x > 0, x, 0.0)),
                                ("relu", "gradient", lambda x: x * (x > 0)),
                                ("softmax_jacobian", "values", None), ("neuron", "values", None),
                                ("sigmoid_grad", "derivative", lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))):
        prepared = prepare(exercise, check)
        strided_calls = [call for call in prepared.calls if call.get("strided")]
        assert strided_calls, (exercise, check)
        assert all("non-contiguous" in case.label for case in prepared.cases if case.strided)
        if fn is not None:
            assert failures(probed(prepared, fn)) == [], (exercise, check)


def test_a_function_right_only_for_contiguous_memory_fails_the_strided_case_and_feedback_names_it(prepare):
    prepared = prepare("relu", "values")
    wrong = failures(probed(prepared, _contiguous_only_relu))
    assert wrong and all("non-contiguous" in v.label for v in wrong)
    viewing = failures(probed(prepared, lambda x: torch.where(x.view(-1) > 0, x.view(-1), 0.0).view(x.shape)))
    assert viewing and all("non-contiguous" in v.label for v in viewing)
    assert "view size is not compatible" in viewing[0].message


def test_the_strided_views_hold_the_same_numbers_with_gaps_and_two_inputs_get_different_orders():
    from grader.calls import layout_of, strided, variant_of
    for shape in [(7,), (16, 32), (2, 3, 4), (6, 1), (1, 3), (4, 5, 6, 7), (2, 1, 3)]:
        x = torch.randn(shape, dtype=torch.float64)
        for variant in (0, 1):
            view = strided(x, variant)
            assert torch.equal(view, x) and not view.is_contiguous() and layout_of(x, variant), (shape, variant)
            assert view.untyped_storage().nbytes() == 2 * x.numel() * x.element_size()  # a gap after each element
        if sum(n > 1 for n in shape) >= 2:  # one input's memory order is not another's
            assert strided(x, 0).stride() != strided(x, 1).stride()
    for same in (torch.zeros(0, 3), torch.tensor(2.0), torch.ones(1), torch.arange(6)):
        assert strided(same) is same and layout_of(same) is None
    assert variant_of(["target", "p"], "p") == 0 and variant_of(["p", "target"], "target") == 1


def _memory_order_bce(p, target):
    """Right where both inputs are laid out alike: reads each in memory order."""
    flat_p = torch.as_strided(p, (p.numel(),), (1,))
    flat_t = torch.as_strided(target, (target.numel(),), (1,))
    return -(flat_t * flat_p.log().clamp(min=-100) + (1 - flat_t) * (1 - flat_p).log().clamp(min=-100)).mean()


def test_code_that_reads_its_inputs_in_memory_order_fails_the_strided_case(prepare):
    wrong = failures(probed(prepare("bce_loss", "values"), _memory_order_bce))
    assert wrong and all("non-contiguous" in v.label for v in wrong), [v.label for v in wrong]
    round_trip = failures(probed(prepare("relu", "values"), lambda x: torch.where(
        torch.as_strided(x, (x.numel(),), (1,)) > 0, torch.as_strided(x, (x.numel(),), (1,)), 0.0
    ).as_strided(x.shape, x.stride())))
    assert round_trip and all("non-contiguous" in v.label for v in round_trip)


def _view_merging_prelu(x, weight):
    """Right on contiguous memory only: .view merges the dimensions after the channel."""
    if x.dim() == 1:
        return torch.where(x > 0, x, weight * x)
    n, c = x.shape[:2]
    flat = x.view(n, c, math.prod(x.shape[2:]))
    return torch.where(flat > 0, flat, weight.view(1, -1, 1) * flat).view(x.shape)


def _view_merging_neuron(x, w, b):
    """Right on contiguous memory only: .view merges a batch of batches."""
    z = x.view(-1, x.shape[-1]) @ w + b
    return torch.sigmoid(z).view(*x.shape[:-1], *w.shape[1:])


@pytest.mark.parametrize("exercise, fn", [("prelu", _view_merging_prelu), ("neuron", _view_merging_neuron)])
def test_a_view_that_merges_dimensions_fails_on_the_case_with_the_most_dimensions(prepare, exercise, fn):
    prepared = prepare(exercise, "values")
    wrong = failures(probed(prepared, fn))
    assert wrong and all("non-contiguous" in v.label for v in wrong), [v.label for v in wrong]
    assert all(len(case.args["x"].shape) == max(len(c.args["x"].shape) for c in prepared.cases)
               for case in prepared.cases if case.strided)


def test_the_gradient_is_taken_with_respect_to_the_non_contiguous_inputs_themselves(prepare):
    prepared = prepare("neuron", "gradient")
    seen = []

    def neuron(x, w, b):
        seen.append([t.is_contiguous() for t in (x, w, b) if t.dim() and t.numel() > 1])
        return torch.sigmoid(x @ w + b)

    assert failures(probed(prepared, neuron)) == []
    strided = [case.strided for case in prepared.cases]
    # a strided case runs twice: on the views (none contiguous), then on contiguous copies
    expected = [flag for is_strided in strided for flag in ([False, True] if is_strided else [True])]
    assert any(strided) and [all(entry) if entry else True for entry in seen] == expected, seen


def _noted(prepared: Prepared, fn: Callable) -> list[CaseVerdict]:
    """The verdicts with_layout_note gives on the probe's records of fn."""
    from grader.judge import with_layout_note
    records = {}
    for call in prepared.calls:
        records[call["key"]] = sent(kinds.probes()[call["probe"]](fn, dict(call, submission_dir=None)))
    verdicts = judge(prepared, [records[call["key"]] for call in prepared.calls])
    return with_layout_note(prepared, verdicts, records)


def test_feedback_says_the_layout_is_the_cause_only_where_the_same_numbers_contiguous_pass(prepare):
    from grader.judge import LAYOUT_NOTE
    viewing = _noted(prepare("relu", "values"), lambda x: torch.where(x.view(-1) > 0, x.view(-1), 0.0).view(x.shape))
    assert LAYOUT_NOTE in next(v for v in viewing if not v.passed).message
    wrong_everywhere = _noted(prepare("relu", "values"), lambda x: torch.where(x > 0, x, 0.1))
    assert all(LAYOUT_NOTE not in v.message for v in wrong_everywhere)

    def prelu_wrong_for_4d(x, weight):  # a broadcasting bug on 4-D input, whatever its layout
        a = weight.reshape(-1, 1) if x.dim() > 2 else weight
        return torch.where(x > 0, x, a * x)
    shape_bug = _noted(prepare("prelu", "values"), prelu_wrong_for_4d)
    assert any(not v.passed for v in shape_bug) and all(LAYOUT_NOTE not in v.message for v in shape_bug)


class _StorageOrderRelu(torch.autograd.Function):
    """Right forward; a backward that reads x as if laid out row by row."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x > 0, x, torch.zeros_like(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        rowwise = torch.as_strided(x, x.shape, torch.empty(x.shape).stride(), x.storage_offset())
        return grad * (rowwise > 0).to(grad.dtype)


def test_a_gradient_wrong_only_for_the_layout_is_told_so(prepare):
    from grader.judge import LAYOUT_NOTE
    noted = _noted(prepare("relu", "gradient"), _StorageOrderRelu.apply)
    failed = [v for v in noted if not v.passed]
    assert failed and all("non-contiguous" in v.label for v in failed)
    assert LAYOUT_NOTE in failed[0].message


def test_a_small_whole_factor_also_names_gradients_left_from_an_earlier_call():
    from grader.kinds.experiment.judge.property_rules import _close
    from grader.kinds.experiment.model import CloseToReference
    spec = CloseToReference(rtol=1e-5, atol=0.0)
    doubled = _close(spec, [0.2, 0.4, 0.8], [0.1, 0.2, 0.4])
    assert "2 × the reference's" in doubled and "an earlier call" in doubled
    summed = _close(spec, [819.2, 1638.4], [0.1, 0.2])
    assert "a sum where a mean belongs" in summed and "an earlier call" not in summed


def test_two_runs_that_differ_in_the_last_digits_are_shown_differently():
    from grader.checks.compare import told_apart
    assert told_apart(0.4579321, 0.4579322) == ("0.4579321", "0.4579322")
    assert told_apart(0.5, 0.25) == ("0.5", "0.25")
    a, b = told_apart(0.1, 0.1 + 2 ** -55)
    assert a != b


def test_a_formula_that_cancels_in_half_precision_is_told_so():
    from grader.judge import HALF_PRECISION_NOTE, with_half_precision_note
    from grader.checks import CaseVerdict
    from types import SimpleNamespace
    cases = [SimpleNamespace(dtype=d) for d in ("float32", "float64", "float16", "bfloat16")]
    only_half = [CaseVerdict(str(i), "", ok, "") for i, ok in enumerate((True, True, False, False))]
    assert HALF_PRECISION_NOTE in with_half_precision_note(cases, only_half)[2].message
    everywhere = [CaseVerdict(str(i), "", ok, "") for i, ok in enumerate((False, True, False, False))]
    assert all(HALF_PRECISION_NOTE not in v.message for v in with_half_precision_note(cases, everywhere))
    far_off = with_half_precision_note(cases, only_half, [True, True, True, False])  # a sign or a dtype wrong
    assert all(HALF_PRECISION_NOTE not in v.message for v in far_off)


def test_leaky_relu_written_with_a_cancelling_formula_fails_only_in_half_precision(prepare):
    verdicts = probed(prepare("leaky_relu", "values"), lambda x, negative_slope=0.01: x + (negative_slope - 1) * x.clamp(max=0))
    failed = failures(verdicts)
    assert failed and {v.label.split(":")[1].split()[0] for v in failed} <= {"float16", "bfloat16"}


def test_the_half_precision_note_is_not_given_for_a_wrong_sign_or_dtype_in_half_precision(prepare, plans):
    from grader.judge import HALF_PRECISION_NOTE, _near_expected, with_half_precision_note
    prepared = prepare("leaky_relu", "values")

    def notes(fn):
        records = {call["key"]: sent(kinds.probes()[call["probe"]](fn, dict(call, submission_dir=None)))
                   for call in prepared.calls}
        verdicts = judge(prepared, [records[call["key"]] for call in prepared.calls])
        return [v.message for v in with_half_precision_note(prepared.cases, verdicts, _near_expected(prepared, records))]

    cancelling = notes(lambda x, negative_slope=0.01: x + (negative_slope - 1) * x.clamp(max=0))
    assert any(HALF_PRECISION_NOTE in m for m in cancelling)
    half = (torch.float16, torch.bfloat16)
    wrong_sign = notes(lambda x, negative_slope=0.01: torch.where(x > 0, x, (-1 if x.dtype in half else 1) * negative_slope * x))
    wrong_dtype = notes(lambda x, negative_slope=0.01: torch.where(x > 0, x, negative_slope * x).float() if x.dtype in half
                        else torch.where(x > 0, x, negative_slope * x))
    assert not any(HALF_PRECISION_NOTE in m for m in wrong_sign + wrong_dtype)
