"""The four basic probes: call, grad, forbid (with op recording) and device."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.autograd.forward_ad as _forward_ad
from torch._C._functorch import TransformType as _TransformType, peek_interpreter_stack as _interpreter
from torch.utils._python_dispatch import TorchDispatchMode

from ..calls import arguments, note_part
from ..encode import encode_error, encode_value
from .cuda_model import CudaModel, encode_shown, to_model

# Bound when the fork server imports this module, before any learner code: `torch.equal = lambda *a: True`
# in a submission must not make an input it changed look unchanged. (The child is the learner's process:
# what it reports of itself can be forged with more effort; this keeps the one-line rebinding out.)
_EQUAL, _EQ, _ISNAN, _ALL, _OR, _AND = torch.equal, torch.eq, torch.isnan, torch.all, torch.logical_or, torch.logical_and


def _arguments(call: dict[str, Any], device: str | None = None) -> list[torch.Tensor]:
    return arguments(call, device)


def _unchanged(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.device.type == "meta":
        return True
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if _EQUAL(a, b):
        return True  # one call for the usual case; nan (never equal to itself) takes the longer way
    same = _EQ(a, b)
    if a.is_floating_point():
        same = _OR(same, _AND(_ISNAN(a), _ISNAN(b)))
    return bool(_ALL(same))


def _with_contiguous_run(record_of: Callable[[Callable, dict[str, Any]], dict[str, Any]], fn: Callable,
                         call: dict[str, Any]) -> dict[str, Any]:
    """The probe's record of the call; a strided call's also holds, as `contiguous`, its record on contiguous
    copies of the same numbers, so that where only the layout fails, feedback can say so."""
    record = record_of(fn, call)
    if call.get("strided"):
        note_part("contiguous")
        record["contiguous"] = record_of(fn, dict(call, strided=False))
    return record


def call_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """Call fn once; return its output and which inputs it modified (and the same on contiguous copies)."""
    return _with_contiguous_run(_call_record, fn, call)


def _call_record(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    args = _arguments(call)
    originals = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    try:
        out = invoke(fn, args, call.get("kwargs", {}))
    except BaseException as exc:
        return {"error": encode_error(exc, call.get("submission_dir"))}
    changed = [
        name for name, before, after in zip(call["arg_names"], originals, args)
        if isinstance(after, torch.Tensor) and not _unchanged(after, before)
    ]
    return {"output": encode_value(out), "inputs_changed": changed}


def grad_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """Back-propagate a fixed upstream gradient through fn; return the input gradients (and the same on
    contiguous copies)."""
    return _with_contiguous_run(_grad_record, fn, call)


def _grad_record(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    wrt = set(call["options"]["wrt"])
    # fresh copies for autograd to differentiate by, made before the strided view (a clone of a view that
    # skips elements would be contiguous): a view of a fresh base may require grad itself
    fresh = dict(call, args=[a.clone() if isinstance(a, torch.Tensor) else a for a in call["args"]])
    args = [
        a.requires_grad_() if isinstance(a, torch.Tensor) and name in wrt else a
        for name, a in zip(call["arg_names"], _arguments(fresh))
    ]
    try:
        out = invoke(fn, args, call.get("kwargs", {}))
    except BaseException as exc:
        return {"error": encode_error(exc, call.get("submission_dir"))}
    if not isinstance(out, torch.Tensor):
        return {"output": encode_value(out)}
    if not out.requires_grad:
        return {"graph_cut": True, "output": encode_value(out)}
    upstream = call["options"]["upstream"]
    if tuple(out.shape) != tuple(upstream.shape):
        return {"output": encode_value(out)}
    targets = [a for name, a in zip(call["arg_names"], args) if name in wrt]
    names = [name for name in call["arg_names"] if name in wrt]
    try:
        grads = torch.autograd.grad(out, targets, upstream.to(out.dtype), allow_unused=True)
    except BaseException as exc:
        return {"error": encode_error(exc, call.get("submission_dir")), "during": "backward"}
    return {"grads": {name: (None if g is None else encode_value(g)) for name, g in zip(names, grads)}}


#: The name recorded, beside the aten operators, when a function asks autograd for a derivative
#: (torch.autograd.grad, .backward(), torch.autograd.functional, torch.func.grad/jacrev/jvp, forward-mode
#: dual numbers): an exercise that forbids "autograd" wants the derivative written by hand.
AUTOGRAD = "autograd"


def _asks_autograd() -> bool:
    """Is the operator being dispatched part of a derivative that autograd computes?"""
    if torch._C._current_autograd_node() is not None or _forward_ad._current_level >= 0:
        return True
    interpreter = _interpreter()
    return interpreter is not None and interpreter.key() in (_TransformType.Grad, _TransformType.Jvp)


class RecordOps(TorchDispatchMode):
    """Records every aten operator that reaches the dispatcher, however it was spelled."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func.overloadpacket.__name__)
        if _asks_autograd():
            self.ops.add(AUTOGRAD)
        return func(*args, **(kwargs or {}))


class Watch:
    """What every call of one exercise's function reached, while `active` (the exercise has a forbid
    check): the recorder is in place during every call of every check, so code that behaves only when
    it sees a recorder, or only on the inputs of one check, is judged by all of its calls."""

    def __init__(self, active: bool = False) -> None:
        self.active = active
        self.ops: set[str] = set()
        self.calls = 0
        self.returned = 0
        self.intact = True


WATCH = Watch()

#: torch's own view of the dispatch mode stack, bound before any learner code runs; the learner's view
#: (torch._C and torch.utils._python_dispatch) leaves out the recorders at the stack indexes in _HIDDEN,
#: so `_get_current_dispatch_mode() is None` holds while a function is watched, as when it is not.
_REAL_LEN = torch._C._len_torch_dispatch_stack
_REAL_AT = torch._C._get_dispatch_stack_at
_HIDDEN: list[int] = []


def _visible_len() -> int:
    length = _REAL_LEN()
    return length - sum(1 for index in _HIDDEN if index < length)


def _visible_at(index: int) -> Any:
    real = index if index >= 0 else index + _visible_len()
    for hidden in sorted(_HIDDEN):
        if hidden <= real:
            real += 1
    return _REAL_AT(real)


class _WayAround:
    """One of torch's guards that let operators run past every dispatch mode (`_DisableTorchDispatch`,
    alias `torch.utils._mode_utils.no_dispatch`; an `_ExcludeDispatchKeyGuard` or `_ForceDispatchKeyGuard`
    that leaves out the Python key): used while a call is watched, the record can no longer be trusted."""

    def __init__(self, real: Any, passes_modes: Callable[..., bool]) -> None:
        self._real = real
        self._passes_modes = passes_modes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _HIDDEN and self._passes_modes(*args, **kwargs):
            WATCH.intact = False
        return self._real(*args, **kwargs)


def _leaves_out_python(*args: Any, **kwargs: Any) -> bool:
    python = torch._C.DispatchKey.Python
    return any(isinstance(a, torch._C.DispatchKeySet) and a.has(python) for a in (*args, *kwargs.values()))


def _always(*args: Any, **kwargs: Any) -> bool:
    return True


def hide_recorders() -> None:
    """Give the learner's code the stack without the recorders, and the guards around dispatch modes
    as watched ones (called once, before it is imported)."""
    import torch.utils._mode_utils as mode_utils
    import torch.utils._python_dispatch as python_dispatch
    torch._C._len_torch_dispatch_stack = _visible_len
    torch._C._get_dispatch_stack_at = _visible_at
    python_dispatch._len_torch_dispatch_stack = _visible_len  # type: ignore[attr-defined]
    python_dispatch._get_dispatch_stack_at = _visible_at  # type: ignore[attr-defined]
    no_dispatch = _WayAround(torch._C._DisableTorchDispatch, _always)
    torch._C._DisableTorchDispatch = no_dispatch
    mode_utils.no_dispatch = no_dispatch
    torch._C._ExcludeDispatchKeyGuard = _WayAround(torch._C._ExcludeDispatchKeyGuard, _leaves_out_python)
    force = torch._C._ForceDispatchKeyGuard
    torch._C._ForceDispatchKeyGuard = _WayAround(force, _always)  # it may set an include set without Python too


def watch_exercise(active: bool) -> Watch:
    """Start a fresh record for the next exercise's calls."""
    global WATCH
    WATCH = Watch(active)
    return WATCH


def invoke(fn: Callable, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call the learner's function, under the operator recorder while the exercise is watched."""
    watch = WATCH
    if not watch.active:
        return fn(*args, **kwargs)
    depth_before = _REAL_LEN()
    recorder = RecordOps()
    watch.calls += 1
    try:
        with recorder:
            _HIDDEN.append(depth_before)
            try:
                out = fn(*args, **kwargs)
            finally:
                _HIDDEN.remove(depth_before)
            if _REAL_LEN() != depth_before + 1:
                watch.intact = False
    finally:
        watch.ops |= recorder.ops
    watch.returned += 1
    return out


def forbid_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """Call fn on the check's own case, then report what every call of the exercise reached.

    The child runs this probe after the exercise's other calls (child.run_exercise), so the report
    covers the values, gradient and device calls too."""
    error = None
    if not WATCH.active:
        watch_exercise(True)
    try:
        invoke(fn, _arguments(call), call.get("kwargs", {}))
    except BaseException as exc:
        error = encode_error(exc, call.get("submission_dir"))
    result: dict[str, Any] = {"ops": sorted(WATCH.ops), "recorder_intact": WATCH.intact,
                              "calls": WATCH.calls, "returned": WATCH.returned}
    if error is not None and WATCH.returned == 0:
        result["error"] = error
    return result


def device_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """Run on the CPU, then on the accelerator (or the simulated GPU standing in for one)."""
    device = call["options"]["device"]
    try:
        invoke(fn, _arguments(call, "cpu"), call.get("kwargs", {}))
    except BaseException as exc:
        return {"cpu_error": encode_error(exc, call.get("submission_dir"))}
    if device == "model":
        return _on_the_model(fn, call)
    if device == "cuda":
        torch.cuda.init()
    try:
        out = invoke(fn, _arguments(call, device), call.get("kwargs", {}))
    except BaseException as exc:
        return {"device": device, "error": encode_error(exc, call.get("submission_dir"))}
    return {"device": device, "output": encode_value(out)}


def _on_the_model(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """The call on grader.probes.cuda_model's simulated GPU: the result says whether it stayed there."""
    args = [to_model(a) for a in _arguments(call, "cpu")]

    def on_model(*a: Any, **k: Any) -> Any:
        with CudaModel():
            return fn(*a, **k)

    try:
        out = invoke(on_model, args, call.get("kwargs", {}))
    except BaseException as exc:
        return {"device": "model", "error": encode_error(exc, call.get("submission_dir"))}
    return {"device": "model", "output": encode_shown(out)}
