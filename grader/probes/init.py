"""Probes for initialisers: fill a fresh tensor (or nn.Parameter) with the learner's routine, report plain data.

Every probe makes its own tensor in the child, filled with SENTINEL (the dtype's largest finite
value, which no initialiser produces), so the grader can tell which elements the learner's
function wrote. Large tensors come back as a fixed strided sample of at most `sample` elements.
What the learner could tamper with after import (torch.manual_seed, torch.Generator,
torch.nn.Parameter …) is bound here, when the fork server imports this module.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import torch

from ..encode import encode_error, encode_value, plain_tensor
from ..recording import code_fingerprint, code_identity, sample_of, sentinel
from .cuda_model import CudaModel, ModelTensor, encode_shown

_DEFAULT_GENERATOR = torch.default_generator
_GENERATOR = torch.Generator
_PARAMETER = torch.nn.Parameter
_FULL = torch.full
_GETPROFILE = sys.getprofile
_SETPROFILE = sys.setprofile
_THREAD_SETPROFILE = threading.setprofile
_THREAD_SETPROFILE_CODE = threading.setprofile.__code__


def fresh_tensor(call: dict[str, Any], device: str | None = None) -> torch.Tensor:
    dtype = getattr(torch, call["dtype"])
    before = sentinel(dtype) if call.get("prefill") is None else float(call["prefill"])
    return _FULL(tuple(call["shape"]), before, dtype=dtype, device=device or call.get("device", "cpu"))


def raised(exc: BaseException, submission_dir: str | None) -> dict[str, Any]:
    """An exception as plain data, with the names of its classes (so ValueError subclasses count)."""
    return {"error": encode_error(exc, submission_dir), "raised": [c.__name__ for c in type(exc).__mro__]}


def _record(value: Any, sample: int | None) -> dict[str, Any]:
    record = encode_shown(value)
    if record["kind"] == "tensor" and "value" in record:
        record["value"] = sample_of(value, sample)
    return record


def fill(fn: Callable, tensor: torch.Tensor, kwargs: dict[str, Any], call: dict[str, Any],
         sample: int | None = None) -> dict[str, Any]:
    """fn(tensor, **kwargs): the tensor's values after, whether it came back, and what came back otherwise."""
    try:
        out = fn(tensor, **kwargs)
    except BaseException as exc:
        return raised(exc, call.get("submission_dir"))
    result: dict[str, Any] = {"same_object": out is tensor}
    if not isinstance(tensor, ModelTensor):
        result["filled"] = sample_of(tensor, sample)
    if out is not tensor:
        result["output"] = _record(out, sample)
    return result


def sample_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """distribution: fill one fresh tensor, the global RNG seeded (no generator passed); a sample of it."""
    _DEFAULT_GENERATOR.manual_seed(call["seed"])
    return fill(fn, fresh_tensor(call), dict(call["kwargs"]), call, call["options"]["sample"])


def in_place_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """in_place: fill an nn.Parameter that requires grad (on cpu, cuda or the simulated GPU); what became of it."""
    device = call["device"]
    if device != "cpu":  # as the core device probe: it must run on the CPU before it can be checked elsewhere
        on_cpu = fill(fn, _parameter(fresh_tensor(call, "cpu"), call), dict(call["kwargs"]), call)
        if "error" in on_cpu:
            return {"cpu_error": on_cpu["error"]}
    if device == "model":
        target = _parameter(ModelTensor(fresh_tensor(call, "cpu")), call)
        with CudaModel():
            result = fill(fn, target, dict(call["kwargs"]), call)
    else:
        if device == "cuda":
            torch.cuda.init()
        target = _parameter(fresh_tensor(call, device), call)
        result = fill(fn, target, dict(call["kwargs"]), call)
    result["after"] = {
        "type": type(target).__name__, "requires_grad": bool(target.requires_grad), "is_leaf": bool(target.is_leaf),
        "has_grad_fn": target.grad_fn is not None, "dtype": str(target.dtype).removeprefix("torch."),
        "shape": list(target.shape), "device": str(target.device),  # a model tensor's is cuda:0
    }
    return result


def _parameter(tensor: torch.Tensor, call: dict[str, Any]) -> torch.Tensor:
    return _PARAMETER(tensor, requires_grad=True) if call["options"].get("parameter", True) else tensor


def generator_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """generator: one call per (generator seed, global seed); values and the global RNG state around each."""
    runs = []
    for seed, global_seed in zip(call["options"]["seeds"], call["options"]["global_seeds"]):
        _DEFAULT_GENERATOR.manual_seed(global_seed)
        before = _DEFAULT_GENERATOR.get_state()
        generator = _GENERATOR().manual_seed(seed)
        run = fill(fn, fresh_tensor(call), dict(call["kwargs"], generator=generator), call, call["options"]["sample"])
        run["global_before"] = before
        run["global_after"] = _DEFAULT_GENERATOR.get_state()
        runs.append(run)
        if "error" in run:
            break
    global_runs = []
    for global_seed in call["options"].get("none_global_seeds", []):  # generator=None: the global generator
        _DEFAULT_GENERATOR.manual_seed(global_seed)
        before = _DEFAULT_GENERATOR.get_state()
        run = fill(fn, fresh_tensor(call), dict(call["kwargs"]), call, call["options"]["sample"])
        run["global_before"] = before
        run["global_after"] = _DEFAULT_GENERATOR.get_state()
        global_runs.append(run)
        if "error" in run:
            break
    return {"runs": runs, "global_runs": global_runs}


def exact_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """exact: call with a fresh tensor (when the case has a shape) or none, plus keywords; what came back."""
    args = [fresh_tensor(call)] if call.get("shape") is not None else []
    try:
        out = fn(*args, **call["kwargs"])
    except BaseException as exc:
        return raised(exc, call.get("submission_dir"))
    result: dict[str, Any] = {"output": encode_value(out), "same_object": bool(args) and out is args[0]}
    if args:
        result["filled"] = plain_tensor(args[0])
    return result


def calls_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """forbid_function: which of the named Python functions ran during the call, however they were reached.

    Functions are known by their code (file, first line, qualified name), so an alias, a
    `from … import … as …` or a monkeypatched module attribute still leads to the same code; and by
    their bytecode's fingerprint, so a copy of the code object renamed or moved is known too.
    """
    wanted = {tuple(item) for item in call["options"]["functions"]}
    fingerprints = any(item[0] == "fingerprint" for item in wanted)
    seen: set[tuple] = set()
    tampered = False
    own_code = calls_probe.__code__

    def profiler(frame, event, arg):
        nonlocal tampered
        if event == "call":
            code = frame.f_code
            if code is _THREAD_SETPROFILE_CODE and frame.f_back is not None and frame.f_back.f_code is not own_code:
                tampered = True
            key = code_identity(code)
            if key in wanted:
                seen.add(key)
            elif fingerprints:
                mark = code_fingerprint(code)
                if mark in wanted:
                    seen.add(mark)
        elif event == "c_call" and arg is _SETPROFILE and frame.f_code is not own_code:
            tampered = True  # seen before it runs: switching the recorder off and on again is seen too

    args = [fresh_tensor(call)] if call.get("shape") is not None else []
    previous = _GETPROFILE()
    _SETPROFILE(profiler)
    _THREAD_SETPROFILE(profiler)
    try:
        fn(*args, **call["kwargs"])
        error = None
    except BaseException as exc:
        error = encode_error(exc, call.get("submission_dir"))
    finally:
        intact = _GETPROFILE() is profiler and not tampered
        _SETPROFILE(previous)
        _THREAD_SETPROFILE(None)
    result: dict[str, Any] = {"called": sorted(list(key) for key in seen), "recorder_intact": intact}
    if error is not None:
        result["error"] = error
    return result


def warm() -> None:
    """Run each probe once on torch's own initialisers, so forked children start with everything imported."""
    base = {"key": "warm", "shape": [4, 3], "dtype": "float32", "device": "cpu", "kwargs": {}, "seed": 0,
            "options": {"sample": 8, "seeds": [1, 1, 2], "global_seeds": [3, 4, 5], "parameter": True,
                        "functions": []}}
    for probe, fn in ((sample_probe, torch.nn.init.kaiming_uniform_), (in_place_probe, torch.nn.init.xavier_normal_),
                      (generator_probe, torch.nn.init.normal_), (exact_probe, torch.nn.init.zeros_),
                      (calls_probe, torch.nn.init.uniform_)):
        try:
            probe(fn, dict(base))
        except Exception:
            pass
    _DEFAULT_GENERATOR.manual_seed(torch.initial_seed())
