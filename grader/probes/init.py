"""Probes for initialisers: fill a fresh tensor (or nn.Parameter) with the learner's routine, report plain data.

Every probe makes its own tensor in the child, filled with SENTINEL (the dtype's largest finite
value, which no initialiser produces), so the grader can tell which elements the learner's
function wrote. Large tensors come back as a fixed strided sample of at most `sample` elements.
What the learner could tamper with after import (torch.manual_seed, torch.Generator,
torch.nn.Parameter …) is bound here, when the fork server imports this module.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..encode import encode_error, encode_value, plain_tensor
from ..recording import code_fingerprint, code_identity, sample_of, sentinel

_DEFAULT_GENERATOR = torch.default_generator
_GENERATOR = torch.Generator
_PARAMETER = torch.nn.Parameter
_FULL = torch.full
_GETPROFILE = sys.getprofile
_SETPROFILE = sys.setprofile
_THREAD_SETPROFILE = threading.setprofile


def fresh_tensor(call: dict[str, Any], device: str | None = None) -> torch.Tensor:
    dtype = getattr(torch, call["dtype"])
    before = sentinel(dtype) if call.get("prefill") is None else float(call["prefill"])
    return _FULL(tuple(call["shape"]), before, dtype=dtype, device=device or call.get("device", "cpu"))


def raised(exc: BaseException, submission_dir: str | None) -> dict[str, Any]:
    """An exception as plain data, with the names of its classes (so ValueError subclasses count)."""
    return {"error": encode_error(exc, submission_dir), "raised": [c.__name__ for c in type(exc).__mro__]}


def _record(value: Any, sample: int | None) -> dict[str, Any]:
    record = encode_value(value)
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
    if tensor.device.type != "meta":
        result["filled"] = sample_of(tensor, sample)
    if out is not tensor:
        result["output"] = _record(out, sample)
    return result


def sample_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """distribution: fill one fresh tensor, the global RNG seeded (no generator passed); a sample of it."""
    _DEFAULT_GENERATOR.manual_seed(call["seed"])
    return fill(fn, fresh_tensor(call), dict(call["kwargs"]), call, call["options"]["sample"])


def in_place_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """in_place: fill an nn.Parameter that requires grad (on cpu, meta or cuda); what became of it."""
    device = call["device"]
    if device != "cpu":  # as the core device probe: it must run on the CPU before it can be checked elsewhere
        on_cpu = fill(fn, _parameter(fresh_tensor(call, "cpu"), call), dict(call["kwargs"]), call)
        if "error" in on_cpu:
            return {"cpu_error": on_cpu["error"]}
    if device == "cuda":
        torch.cuda.init()
    target = _parameter(fresh_tensor(call, device), call)
    with _as_on_a_gpu() if device == "meta" else contextlib.nullcontext():
        result = fill(fn, target, dict(call["kwargs"]), call)
    result["after"] = {
        "type": type(target).__name__, "requires_grad": bool(target.requires_grad), "is_leaf": bool(target.is_leaf),
        "has_grad_fn": target.grad_fn is not None, "dtype": str(target.dtype).removeprefix("torch."),
        "shape": list(target.shape), "device": str(target.device),
    }
    return result


def _refuse(generator: torch.Generator) -> None:
    raise RuntimeError(f"Expected a 'cuda' device type for generator but found '{generator.device.type}' "
                       "(a random function's generator must be on the same device as the tensor it fills)")


class GeneratorsOnTheirTensorsDevice(TorchDispatchMode):
    """The meta device standing in for a GPU refuses what CUDA refuses: a CPU generator on a GPU tensor.

    Meta kernels ignore generators, so `torch.Generator()` (a CPU one) used on the tensor passed here
    and failed on an H200: one submission, two scores. There is no meta generator, so any generator
    given to an operation on meta tensors is one a GPU would refuse. Some operators take it among their
    positional arguments (aten.poisson, aten.binomial, aten._standard_gamma)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        generator = next((a for a in (*kwargs.values(), *args) if isinstance(a, _GENERATOR)), None)
        if generator is not None and _on_meta(args, kwargs):
            _refuse(generator)
        return func(*args, **kwargs)


_TRUNC_NORMAL = torch.nn.init._no_grad_trunc_normal_


def _trunc_normal_as_on_a_gpu(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """torch.nn.init.trunc_normal_ returns at once for a meta tensor, before any operator sees its generator."""
    generator = kwargs.get("generator", args[4] if len(args) > 4 else None)
    if isinstance(generator, _GENERATOR) and tensor.is_meta:
        _refuse(generator)
    return _TRUNC_NORMAL(tensor, *args, **kwargs)


@contextlib.contextmanager
def _as_on_a_gpu():
    """The meta device refusing a CPU generator, in operators and in trunc_normal_ (looked up when called,
    so however the learner imported it). orthogonal_ and sparse_ also return early on meta tensors,
    inside the public functions: a CPU generator given to them is not seen here."""
    init = torch.nn.init
    init._no_grad_trunc_normal_ = _trunc_normal_as_on_a_gpu
    try:
        with GeneratorsOnTheirTensorsDevice():
            yield
    finally:
        init._no_grad_trunc_normal_ = _TRUNC_NORMAL


def _on_meta(args: tuple, kwargs: dict[str, Any]) -> bool:
    device = kwargs.get("device")
    if device is not None and torch.device(device).type == "meta":
        return True
    return any(isinstance(a, torch.Tensor) and a.device.type == "meta" for a in (*args, *kwargs.values()))


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

    def profiler(frame, event, arg):
        if event == "call":
            code = frame.f_code
            key = code_identity(code)
            if key in wanted:
                seen.add(key)
            elif fingerprints:
                mark = code_fingerprint(code)
                if mark in wanted:
                    seen.add(mark)

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
        intact = _GETPROFILE() is profiler
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
