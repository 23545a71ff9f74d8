"""The experiment probe: call a function with keywords only, and again as the check's properties ask.

Runs in the child (and, on the reference, in the grader). Returns plain data only:

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

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .encode import encode_error, encode_value

FINGERPRINT_VALUES = 16


class LinearWeights(TorchFunctionMode):
    """Records a fingerprint of each distinct weight tensor passed to F.linear (nn.Linear uses it)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[int, list[float]] = {}
        self._alive: list[torch.Tensor] = []  # keeps ids unique while recording
        self.computed: dict[int, float] = {}  # id(weight) -> norm of the last gradient computed for it

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            if isinstance(weight, torch.Tensor) and id(weight) not in self.seen and weight.device.type != "meta":
                flat = weight.detach().reshape(-1)
                self.seen[id(weight)] = [float(v) for v in flat[:FINGERPRINT_VALUES].tolist()] + [
                    float(flat.double().sum()), float(flat.numel())]
                self._alive.append(weight)
                if weight.requires_grad:
                    self._watch(weight)
        return func(*args, **kwargs)

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


def experiment_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """Run fn(**kwargs) once, then the reruns the options ask for (see the module doc)."""
    kwargs = dict(call.get("kwargs", {}))
    options = call.get("options", {})
    where = call.get("submission_dir")
    recorder = LinearWeights() if options.get("observe") else None
    main = _run(fn, kwargs, where, recorder)
    record: dict[str, Any] = {"error": main["error"]} if "error" in main else {"output": main}
    if recorder is not None:
        record["layers"] = list(recorder.seen.values())
        record["measured"] = recorder.gradient_norms()
    if "error" not in main:
        if options.get("rerun"):
            record["again"] = _run(fn, kwargs, where)
        record["changed"] = [_run(fn, {**kwargs, **overrides}, where) for overrides in options.get("changes", [])]
    if options.get("plot"):
        record["plot"] = [_run(fn, dict(more), where) for more in options["plot"]]
    return record


def warm_experiments(backward: bool = True) -> None:
    """Build, run and back-propagate a tiny MLP under the recorder, so forked children start warm.

    `backward=False` stops at the forward pass: where a GPU is present, the first backward pass would
    start the driver and autograd's GPU threads in the fork server (see grader.child.warm)."""
    def tiny(depth: int = 2, seed: int = 0) -> list[float]:
        torch.manual_seed(seed)
        linears = [torch.nn.Linear(4, 4) for _ in range(depth)]
        torch.nn.init.kaiming_normal_(linears[0].weight, nonlinearity="relu")
        torch.nn.init.xavier_normal_(linears[-1].weight)
        x = torch.randn(3, 4)
        for linear in linears:
            x = torch.sigmoid(torch.tanh(torch.relu(linear(x))))
        if not backward:
            return [float(x.detach().norm())]
        x.pow(2).mean().backward()
        return [linear.weight.grad.norm().item() for linear in linears]

    experiment_probe(tiny, {"kwargs": {"depth": 2}, "options": {"observe": True, "rerun": True,
                                                                "changes": [{"seed": 1}], "plot": [{}]}})
