"""in_place: an initialiser fills the very tensor it is given, returns it, and leaves no autograd history.

Each case hands the learner's routine an nn.Parameter that requires grad, as model weights are
(so writing into it needs `torch.no_grad()`), in every dtype, and checks that it comes back as
the same object, every element written, still a leaf that requires grad with no grad_fn, with its
dtype, shape and device.

Cases on `cuda` judge the device promise alone, on a plain tensor, as the core `device` kind does:
the routine must first run on the CPU, then on the GPU where there is one and otherwise on the GPU
simulated on the CPU (grader.probes.cuda_model), where a tensor made on the CPU inside the routine,
or a CPU generator, fails exactly as on a GPU. Any error there fails the case.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from grader.cases import DTYPES
from grader.recording import sentinel
from grader.spec import Exercise
from grader.spec.checks import CheckBase
from grader.checks.base import CaseVerdict, Context, Prepared, learner_error, unsaved_words
from grader.checks.compare import describe_record
from grader.checks.init_cases import InitCase, build_init_cases, fail, init_call, raised_verdict

DEFAULT_DTYPES = ["float32", "float64", "float16", "bfloat16"]


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    accelerator = "cuda" if ctx.cuda else "model"
    devices = [accelerator if device == "cuda" else device for device in check.devices]
    cases = build_init_cases(ctx.course, exercise, check, DEFAULT_DTYPES, devices=devices)
    # The float32 CPU cases again on a tensor holding nan: a fill computed from the old values
    # (tensor.mul_(0).add_(noise)) leaves it there.
    cases += [dataclasses.replace(case, id=f"{case.id}-nan", prefill="nan")
              for case in cases if case.device == "cpu" and case.dtype == "float32" and case.shape]
    parameter = getattr(check, "parameter", True)
    return Prepared(exercise, check, cases, [
        init_call(check, case, "init_in_place", parameter=parameter and case.device == "cpu") for case in cases])


def judge_case(prepared: Prepared, case: InitCase, result: dict[str, Any]) -> CaseVerdict:
    if case.device != "cpu":
        return _judge_device(case, result)
    if "error" in result:
        return raised_verdict(case, result)
    after = result["after"]
    if not result["same_object"]:
        record = result.get("output", {"kind": "none"})
        return fail(case, f"Your function returned {describe_record(record)}, not the tensor it was given. An "
                          f"initialiser fills the given tensor in place (model.weight keeps its identity) and "
                          f"returns that same object: end with `return tensor`.", "not_tensor")
    if (after["dtype"], tuple(after["shape"]), after["device"]) != (case.dtype, case.shape, "cpu"):
        return fail(case, f"The tensor changed from {case.dtype} {case.shape} on cpu to {after['dtype']} "
                          f"{tuple(after['shape'])} on {after['device']}: fill it, do not replace its data.", "dtype")
    history = _history_problem(after)
    if history:
        return fail(case, history, "graph_cut")
    filled = result["filled"]
    left = int((filled == sentinel(DTYPES[case.dtype])).sum())
    if left:
        return fail(case, f"{left} of {filled.numel()} elements of the tensor were never written: they still hold "
                          f"{sentinel(DTYPES[case.dtype]):.4g}, the value the tensor had before your call.", "values")
    if not bool(torch.isfinite(filled).all()):
        before = f" It held {case.prefill} before your call: write every element without using its old value " \
                 f"(tensor.mul_(0) keeps a nan)." if case.prefill else ""
        return fail(case, "The tensor holds nan or inf after your call." + before, "nan")
    return CaseVerdict(case.id, case.label, True)


def _judge_device(case: InitCase, result: dict[str, Any]) -> CaseVerdict:
    """Only the device promise: identity, history and values are the CPU cases' to judge."""
    where = "a GPU" if case.device == "cuda" else "a GPU (simulated on this machine, which has none)"
    if "cpu_error" in result:
        return fail(case, f"Your function raised {learner_error({'error': result['cpu_error']})}\n"
                          f"It must run on the CPU before it can be checked on {where}.", "error")
    if unsaved_words(result):
        return fail(case, f"With the tensor on {where}: {unsaved_words(result)}", "error")
    if "error" in result:
        return fail(case, f"With the tensor on {where}, your function raised {learner_error(result)}\n"
                          f"It ran on the CPU, so the device is what went wrong: a tensor or a generator made inside "
                          f"your function stays on the CPU unless you say otherwise. Pass device=tensor.device (and "
                          f"dtype=tensor.dtype), or fill the tensor with its own methods (tensor.uniform_, "
                          f"tensor.normal_, tensor.fill_).", "device")
    record = result.get("output") if not result["same_object"] else None
    device = record["device"] if record and record["kind"] == "tensor" else result["after"]["device"]
    if not device.startswith("cuda"):
        return fail(case, f"With the tensor on {where}, your function's result is on {device}; it must stay on the "
                          f"tensor's device.", "device")
    return CaseVerdict(case.id, case.label, True)


def _history_problem(after: dict[str, Any]) -> str | None:
    if after["has_grad_fn"] or not after["is_leaf"]:
        return ("After your call the tensor has autograd history (a grad_fn): the filling was recorded as part of "
                "the model's computation. Do it inside `with torch.no_grad():`.")
    if after["type"] == "Parameter" and not after["requires_grad"]:
        return ("After your call the Parameter no longer requires grad, so it would never be trained. Leave "
                "requires_grad alone: write into the tensor inside `with torch.no_grad():` instead.")
    return None
