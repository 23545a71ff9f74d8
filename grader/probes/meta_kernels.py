"""Let the meta device run torch's compiled shape kernels for common operators, not their Python twins.

Without a GPU, the device check runs the learner's function on the `meta` device (see
grader.checks.device). Eager torch replaces the compiled (C++) meta kernel of some 640 operators with
a Python reference implementation: `x + y` on meta tensors costs ≈ 120 µs instead of ≈ 2 µs, and the
device checks of one activations-and-losses submission spent ≈ 40 ms of the child's CPU there.

For the operators below and their in-place twins, the compiled meta kernel is the shape-and-device
check CUDA's own kernel runs (a structured kernel's meta function, TensorIterator's "Expected all
tensors to be on the same device"), so the meta device refuses a CPU tensor beside a device tensor, and
takes a 0-dim CPU tensor as a scalar, where CUDA does. That is closer to a GPU than torch's Python
references were: those let `x.clamp(min=torch.tensor(0.))` and `torch.div(x, cpu, rounding_mode=...)`
through and refused `torch.copysign(x, torch.tensor(1.))`; CUDA does the opposite, and so does this.
A few CUDA kernels check more than any meta kernel can see (`logaddexp` refuses even a CPU scalar);
those stay as lenient as before. tests/test_meta_kernels.py checks every listed overload with two tensor
arguments against a CPU tensor in each place, and its shapes and dtypes against the CPU's kernel.
Operators whose compiled meta kernel does not check devices (`cat` and `stack` accept a CPU tensor on
meta, which CUDA refuses; `bernoulli_` a CPU `p`) are not listed and keep their Python implementations,
as does every operator not listed and every overload that writes to an `out=` tensor.
"""
from __future__ import annotations

from typing import Callable

import torch

#: Overload packets (each one's overloads and its in-place twin's, `out=` ones apart) that learners reach
#: in activations, derivatives, losses, initialisers and the experiments: pointwise arithmetic and
#: comparisons, the activations' own kernels, reductions over one tensor, softmax, and the in-place
#: fills and random draws of the initialisers.
COMPILED: frozenset[str] = frozenset({
    # pointwise arithmetic and comparisons (TensorIterator: one device for all, CPU scalars allowed)
    "abs", "add", "sub", "rsub", "mul", "div", "neg", "reciprocal", "pow", "sqrt", "rsqrt", "exp", "exp2",
    "expm1", "log", "log2", "log10", "log1p", "sign", "sgn", "clamp", "clamp_min", "clamp_max",
    "maximum", "minimum", "fmax", "fmin", "eq", "ne", "gt", "ge", "lt", "le", "logaddexp", "xlogy",
    "heaviside", "lerp", "addcmul", "addcdiv", "floor", "ceil", "trunc", "round", "fmod", "remainder",
    "erf", "sin", "cos", "tanh", "sigmoid", "copysign", "signbit", "isposinf", "isneginf",
    # activations and the derivatives autograd takes of them
    "leaky_relu", "elu", "gelu", "silu", "softplus", "hardsigmoid", "hardtanh_", "threshold",
    "threshold_backward", "sigmoid_backward", "tanh_backward", "gelu_backward", "relu_",
    # one tensor in: reductions, softmax, scans
    "sum", "mean", "amax", "amin", "max", "min", "all", "any", "argmax", "argmin", "prod",
    "_softmax", "_log_softmax", "cumsum", "linalg_vector_norm", "norm",
    # what initialisers do to a tensor in place
    "uniform_", "normal_", "fill_", "zero_", "exponential_",
})


def _where(condition: torch.Tensor, self: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """where.self on meta tensors, which has no compiled meta kernel: `torch.where(x > 0, x, 0.01 * x)`
    is in most activations, and torch's Python reference costs ≈ 280 µs a call against ≈ 15 µs here.
    What CUDA's `where` does (aten/native/TensorCompare.cpp): a 0-dim CPU tensor is taken as a scalar,
    any other tensor on another device is refused; the condition must be bool; shapes broadcast; the
    dtype is result_type(self, other). Inputs laid out other than contiguously take torch's reference,
    which works out the output's strides as CUDA would."""
    tensors = (condition, self, other)
    if not all(t.is_contiguous() for t in tensors):
        return _REFERENCES["where.self"](condition, self, other)
    device = None
    for tensor in tensors:
        if tensor.device.type == "cpu" and tensor.dim() == 0:
            continue
        if device is None:
            device = tensor.device
        elif tensor.device != device:
            raise RuntimeError(f"Tensor on device {tensor.device} is not on the expected device {device}!")
    torch._check(condition.dtype is torch.bool, lambda: f"expected predicate to be bool, got {condition.dtype}")
    shape = torch.broadcast_shapes(condition.shape, self.shape, other.shape)
    return torch.empty(shape, dtype=torch.result_type(self, other), device=device)


_REFERENCES: dict[str, Callable] = {}  # torch's Python meta kernels replaced by FASTER, looked up when replaced

#: Python meta kernels of ours, for operators without a compiled one, faster than torch's reference.
FASTER = {"where.self": _where}


def compiles(name: str) -> bool:
    """A listed operator's overload, or its in-place twin (`add_` for `add`), without an `out=` tensor (some
    compiled reductions accept a CPU `out` beside meta inputs: mean.dtype_out, prod.out, which CUDA
    refuses), that has a compiled meta kernel: asked once the Python ones are gone."""
    base, _, overload = name.partition(".")
    if base not in COMPILED and base.removesuffix("_") not in COMPILED:
        return False
    schema = getattr(getattr(torch.ops.aten, base), overload or "default")._schema
    return not any(argument.is_out for argument in schema.arguments) and \
        torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{name}", "Meta")


_DONE: list[int] = []  # how many run compiled, once switched


def use_compiled_meta_kernels() -> int:
    """Drop the Python meta kernels of the COMPILED operators; how many now run compiled.

    torch registers all its Python meta kernels through one library object; the only way to take one
    back is to take back all of them, so the library is emptied and every Python meta kernel is
    registered again except those of listed operators that have a compiled one. Call it before any
    learner code, in one thread (the fork server does, at import of the child side). A torch laid out
    otherwise is left as it is; a failure halfway puts every Python kernel back. Either way: 0."""
    if _DONE:
        return _DONE[0]
    try:
        from torch._decomp import global_decomposition_table

        old = torch._meta_registrations._meta_lib_dont_use_me_use_register_meta
        kernels: dict[str, Callable] = {}
        for kind in ("meta", "post_autograd", "pre_autograd"):  # torch's own order of precedence
            for overload, fn in global_decomposition_table[kind].items():
                kernels.setdefault(overload.name(), fn)
        keys = list(old._op_impls)
        registered = sorted(key.split("/")[1] for key in keys)  # "aten/add.Tensor/Meta"
        if (old.m is None or not callable(getattr(old, "_destroy", None)) or not registered
                or not all(key.count("/") == 2 and key.startswith("aten/") for key in keys)
                or any(f"aten::{name}" not in kernels for name in registered)):
            return 0
    except Exception:  # a torch that registers its meta kernels differently: leave them all as they are
        return 0
    old._destroy()
    old._op_impls.clear()  # else its finaliser, later, would strike the keys registered again from torch's book
    try:
        compiled = _register(registered, kernels, switch=True)
    except Exception:
        compiled = 0
        _register(registered, kernels, switch=False)  # torch's own kernels, every one, as before
    _DONE.append(compiled)
    return compiled


def _register(names: list[str], kernels: dict[str, Callable], switch: bool) -> int:
    current = torch._meta_registrations._meta_lib_dont_use_me_use_register_meta
    if current.m is not None:  # a first try, stopped halfway
        current._destroy()
        current._op_impls.clear()
    new = torch.library.Library("aten", "IMPL", "Meta")
    torch._meta_registrations._meta_lib_dont_use_me_use_register_meta = new  # keeps it alive, and in use
    compiled = 0
    for name in names:
        kernel = kernels[f"aten::{name}"]
        if switch and compiles(name):
            compiled += 1
            continue
        if switch and name in FASTER:
            _REFERENCES[name] = kernel
            kernel = FASTER[name]
        new.impl(name, kernel)
    return compiled
