"""Records both sides make alike: the child of the learner's calls, the grader of the reference's.

A check compares what the learner's function did with what the reference does on the same call, so
the two records must be made the same way. The child side (grader.child, grader.probes) and the
judging side (grader.checks) may not import each other (the layers in .importlinter): what they
share lives here, below both, and imports torch and grader.encode only.

The experiment probe runs in the child and, on the reference, in the grader. It returns plain data only:

    {"output": record, "again": record, "changed": [record, …], "layers": [fingerprint, …],
     "plot": [record, …]}            (each present only when the call's options ask for it)

where a record is `encode_value(what the function returned)` or {"error": …}. `again` is a second
call with the same keywords (determinism), `changed` one call per keyword override, `layers` the
weights each distinct `F.linear` weight tensor held when the first call used it (so the grader can
tell layers that start from the same numbers), `measured` the gradient norm each of those weights holds
after the call (so the grader can tell numbers measured on the network from invented ones), `plot` one
call per keyword set to draw.
"""
from __future__ import annotations

import dis
import hashlib
import inspect
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .calls import note_part
from .encode import encode_error, encode_value, plain_tensor


def code_identity(code) -> tuple:
    """What names a Python function here and in the grader alike: its file, first line and qualified name."""
    return (code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name))


#: Opcodes that differ between two compilations of the same source (Python versions' specialisations,
#: method calls compiled either way) and say nothing about what the function does.
_IGNORED_OPS = {"CACHE", "PRECALL", "RESUME", "NOP", "EXTENDED_ARG", "KW_NAMES", "PUSH_NULL", "COPY_FREE_VARS"}
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR", "CALL_METHOD": "CALL", "CALL_FUNCTION": "CALL", "PRECALL_METHOD": "CALL"}
_FINGERPRINTS: dict[int, tuple[Any, tuple]] = {}


def code_fingerprint(code) -> tuple:
    """What a copy of a function keeps whatever it is renamed or moved to: ("fingerprint", sha256 hex)
    of its instructions (names, constants and variables they use, jump targets left out), without its
    docstring. A copy built with `code.replace(co_name=…, co_filename=…)`, or the routine's source
    compiled again elsewhere, has the same one."""
    held = _FINGERPRINTS.get(id(code))
    if held is not None and held[0] is code:
        return held[1]
    steps = []
    for instruction in dis.get_instructions(code):
        if instruction.opname in _IGNORED_OPS:
            continue
        value = instruction.argval
        if hasattr(value, "co_code"):
            value = code_fingerprint(value)[1]
        elif instruction.opname.startswith(("JUMP", "POP_JUMP", "FOR_ITER", "SEND")) or isinstance(value, int) \
                and instruction.opname not in ("LOAD_CONST", "BINARY_OP", "COMPARE_OP"):
            value = None
        steps.append((_SAME_OP.get(instruction.opname, instruction.opname), repr(value)))
    docstring = code.co_consts[0] if code.co_consts and isinstance(code.co_consts[0], str) else None
    steps = [step for step in steps if step != ("LOAD_CONST", repr(docstring))]
    mark = ("fingerprint", hashlib.sha256(repr((steps, code.co_argcount, code.co_kwonlyargcount)).encode()).hexdigest())
    _FINGERPRINTS[id(code)] = (code, mark)
    return mark


def sentinel(dtype: torch.dtype) -> float:
    """The value every fresh tensor holds before the learner's call: finite, never an initialiser's output."""
    return torch.finfo(dtype).max


def sample_of(tensor: torch.Tensor, size: int | None) -> torch.Tensor:
    """A plain CPU copy: every k-th element of the flattened tensor (k = numel // size), at most size of them."""
    if size is None:
        return plain_tensor(tensor)
    with torch._C.DisableTorchFunction():
        flat = torch.Tensor.reshape(tensor, (-1,))
        step = max(1, flat.numel() // size)
        return plain_tensor(flat[::step][:size])


FINGERPRINT_VALUES = 16


#: Products a layer's weight may be applied by instead of F.linear (an nn.Linear's weight used by hand:
#: torch.addmm(lin.bias, x, lin.weight.t()), x @ lin.weight.T): a 2-D nn.Parameter taking part in one, or
#: whose view does, counts as a layer's weight.
_PRODUCTS = frozenset({torch.addmm, torch.mm, torch.matmul, torch.einsum, torch.Tensor.addmm, torch.Tensor.mm,
                       torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__})


def _weights_in(args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """The 2-D nn.Parameters among a product's operands, or behind a view of one (lin.weight.t())."""
    found = []
    for value in (*args, *kwargs.values()):
        for item in (value if isinstance(value, (list, tuple)) else (value,)):
            if not isinstance(item, torch.Tensor):
                continue
            base = item if isinstance(item, torch.nn.Parameter) else item._base
            if isinstance(base, torch.nn.Parameter) and base.dim() == 2:
                found.append(base)
    return found


def _fingerprint(weight: torch.Tensor) -> list[float]:
    flat = weight.detach().reshape(-1)
    return [float(v) for v in flat[:FINGERPRINT_VALUES].tolist()] + [float(flat.double().sum()), float(flat.numel())]


class LinearWeights(TorchFunctionMode):
    """Records each distinct nn.Linear weight of the call, in the order first seen: an nn.Linear made during
    the call (its weight's registration, however the weight is then used: a copy, .double(), a broadcast
    product), a weight passed to F.linear (nn.Linear's forward), or a 2-D nn.Parameter applied by hand in a
    matrix product (`_PRODUCTS`); with a fingerprint of the numbers it held when first used (or, if never
    used through those, when the call ended)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[int, list[float] | None] = {}
        self._alive: list[torch.Tensor] = []  # keeps ids unique while recording
        self.computed: dict[int, float] = {}  # id(weight) -> norm of the last gradient computed for it
        self._registration: Any = None

    def __enter__(self) -> "LinearWeights":
        register = getattr(torch.nn.modules.module, "register_module_parameter_registration_hook", None)
        if register is not None:
            self._registration = register(self._registered)
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._registration is not None:
            self._registration.remove()
            self._registration = None
        super().__exit__(*exc)

    def _registered(self, module: Any, name: str, param: Any) -> None:
        """Every module's parameter registration while recording: an nn.Linear's weight is a layer's."""
        try:
            if name == "weight" and isinstance(module, torch.nn.Linear):
                self._note(param, used=False)
        except Exception:
            pass  # never the learner's problem

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            self._note(args[1] if len(args) > 1 else kwargs.get("weight"))
        elif func in _PRODUCTS:
            for weight in _weights_in(args, kwargs):
                self._note(weight)
        return func(*args, **kwargs)

    def _note(self, weight: Any, used: bool = True) -> None:
        if not isinstance(weight, torch.Tensor) or weight.device.type == "meta":
            return
        if id(weight) in self.seen:
            if used and self.seen[id(weight)] is None:
                self.seen[id(weight)] = _fingerprint(weight)  # registered before its numbers were drawn
            return
        self.seen[id(weight)] = _fingerprint(weight) if used else None
        self._alive.append(weight)
        if weight.requires_grad:
            self._watch(weight)

    def layers(self) -> list[list[float]]:
        """Each recorded weight's fingerprint, first seen first."""
        return [fingerprint if (fingerprint := self.seen[id(weight)]) is not None else _fingerprint(weight)
                for weight in self._alive]

    def _watch(self, weight: torch.Tensor) -> None:
        """Keep the norm of every gradient computed for `weight`, by backward() or torch.autograd.grad."""
        key = id(weight)

        def seen(grad: torch.Tensor) -> None:
            self.computed[key] = float(torch.linalg.vector_norm(grad.detach().double()))

        try:
            weight.register_hook(seen)
        except RuntimeError:
            pass

    def gradient_norms(self) -> list[float]:
        """Each recorded weight's gradient norm after the call, first used first: the last gradient
        autograd computed for it, else its .grad, else 0."""
        norms: list[float] = []
        for weight in self._alive:
            grad = weight.grad
            if id(weight) in self.computed:
                norms.append(self.computed[id(weight)])
            else:
                norms.append(0.0 if grad is None else float(torch.linalg.vector_norm(grad.detach().double())))
        return norms


def _run(fn: Callable, kwargs: dict[str, Any], submission_dir: str | None,
         recorder: LinearWeights | None = None) -> dict[str, Any]:
    try:
        if recorder is None:
            out = fn(**kwargs)
        else:
            with recorder:
                out = fn(**kwargs)
    except BaseException as exc:
        return {"error": encode_error(exc, submission_dir)}
    return encode_value(out)


#: The observed first run of each (function, keywords) in this process: several checks call the function
#: with the same keywords, and a function that remembers its results (functools.lru_cache) runs no network
#: the second time. Each check reads the one observed run; the reruns a check asks for still call it.
_MAIN_RUNS: dict[tuple[int, str], tuple[Callable, dict[str, Any]]] = {}


def _arguments_key(fn: Callable, kwargs: dict[str, Any]) -> str:
    """The call's arguments with the signature's defaults filled in: f(depth=10) and f(depth=10, init="default")
    are one call where init defaults to "default"."""
    try:
        bound = inspect.signature(fn).bind(**kwargs)
        bound.apply_defaults()
        return repr(sorted(bound.arguments.items(), key=lambda item: item[0]))
    except (TypeError, ValueError):
        return repr(sorted(kwargs.items()))


def _main_run(fn: Callable, kwargs: dict[str, Any], where: str | None) -> dict[str, Any]:
    key = (id(fn), _arguments_key(fn, kwargs))
    held = _MAIN_RUNS.get(key)
    if held is not None and held[0] is fn:  # the function is kept with its run, so its id is not reused
        return held[1]
    recorder = LinearWeights()
    out = _run(fn, kwargs, where, recorder)
    run = {"out": out, "layers": recorder.layers(), "measured": recorder.gradient_norms()}
    _MAIN_RUNS[key] = (fn, run)
    return run


def experiment_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """The experiment probe: run fn(**kwargs) once, then the reruns the options ask for (see the module doc)."""
    kwargs = dict(call.get("kwargs", {}))
    options = call.get("options", {})
    where = call.get("submission_dir")
    run = _main_run(fn, kwargs, where)
    main = run["out"]
    record: dict[str, Any] = {"error": main["error"]} if "error" in main else {"output": main}
    if options.get("observe"):
        record["layers"] = run["layers"]
        record["measured"] = run["measured"]
    if "error" not in main:
        if options.get("rerun"):
            note_part("again")
            record["again"] = _run(fn, kwargs, where)
        record["changed"] = []
        for index, overrides in enumerate(options.get("changes", [])):
            note_part(f"changed:{index}")
            record["changed"].append(_run(fn, {**kwargs, **overrides}, where))
    if options.get("plot"):
        record["plot"] = []
        for index, more in enumerate(options["plot"]):
            note_part(f"plot:{index}")
            record["plot"].append(_run(fn, dict(more), where))
    return record
