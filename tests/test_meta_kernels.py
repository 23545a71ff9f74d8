"""The meta device with compiled kernels still refuses what a GPU refuses (grader.probes.meta_kernels).

Each test runs in a fresh interpreter: dropping Python meta kernels is for the fork server's process,
not for pytest's.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.torch_internals  # torch's own registry of meta kernels

PRELUDE = """
import json, sys, torch
from grader.checks.device import is_device_error
from grader.probes.meta_kernels import COMPILED, use_compiled_meta_kernels
compiled = use_compiled_meta_kernels() if sys.argv[1] == "compiled" else 0
"""


def run(body: str, mode: str = "compiled") -> dict:
    code = PRELUDE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


# Builds every compiled overload's arguments from its schema; runs it all on meta and all on the CPU
# (whose compiled kernel gives CUDA's shapes and dtypes), then with a CPU tensor in each tensor's place.
MIXED_DEVICES = """
import itertools
from grader.probes.meta_kernels import compiles

def value(argument, dtype, device, fill):
    kind = str(argument.type)
    if kind == "Tensor" or (kind == "Optional[Tensor]" and fill):
        return torch.ones(6, dtype=dtype, device=device)
    if kind == "Optional[number]" and fill:
        return 1
    if argument.has_default_value():
        return argument.default_value
    if kind.endswith("?") or kind.startswith("Optional["):
        return None
    return {"Scalar": 2, "number": 2, "int": 0, "SymInt": 0, "float": 0.5, "bool": False, "str": "none",
            "List[int]": [0]}[kind]

def call(overload, dtype, place, fill=False):
    # fill: optional tensors and scalars given too (clamp needs a min or a max)
    args, kwargs, position = [], {}, 0
    for argument in overload._schema.arguments:
        device = "meta"
        if str(argument.type) == "Tensor" or (str(argument.type) == "Optional[Tensor]" and fill):
            device = place(position)
            position += 1
        v = value(argument, dtype, device, fill)
        (kwargs.__setitem__(argument.name, v) if argument.kwarg_only else args.append(v))
    return overload(*args, **kwargs)

def described(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [(tuple(o.shape), str(o.dtype)) for o in outs]

report = {"compiled": compiled, "checked": [], "not_refused": [], "unlike_cpu": [], "lists": [], "uncallable": []}
for packet in sorted(COMPILED | {p + "_" for p in COMPILED}):
    if not hasattr(torch.ops.aten, packet):
        continue
    for name in getattr(torch.ops.aten, packet).overloads():
        overload = getattr(getattr(torch.ops.aten, packet), name)
        try:
            if not compiles(packet if name == "default" else f"{packet}.{name}"):
                continue
        except RuntimeError:  # an overload only TorchScript has (add.t, on lists): no kernels at all
            continue
        qualified = overload.name()
        types = [str(a.type) for a in overload._schema.arguments]
        if any(t.startswith("List[") and "Tensor" in t for t in types):
            report["lists"].append(qualified)
        for dtype, fill in itertools.product((torch.float32, torch.int64, torch.bool), (False, True)):
            tensors = sum(t == "Tensor" or (t == "Optional[Tensor]" and fill) for t in types)
            try:
                on_cpu = described(call(overload, dtype, place=lambda i: "cpu", fill=fill))
                on_meta = described(call(overload, dtype, place=lambda i: "meta", fill=fill))
            except Exception:
                continue
            if on_meta != on_cpu:
                report["unlike_cpu"].append(f"{qualified} {dtype}: {on_meta} on meta, {on_cpu} on the CPU")
            for cpu_at in range(tensors if tensors >= 2 else 0):
                try:
                    call(overload, dtype, place=lambda i: "cpu" if i == cpu_at else "meta", fill=fill)
                    report["not_refused"].append(f"{qualified} (CPU tensor at {cpu_at}): no error")
                except Exception as exc:
                    if not is_device_error({"type": type(exc).__name__, "message": str(exc)}):
                        report["not_refused"].append(f"{qualified} (CPU tensor at {cpu_at}): {exc}")
            report["checked"].append(qualified)
            break
        else:
            report["uncallable"].append(qualified)
print(json.dumps(report))
"""

#: Overloads the schema-driven call cannot make: fill_ takes a 0-dim value, which may be a CPU tensor
#: on CUDA too (the battery below checks it does so on meta); norm's dtype is a number in its schema.
NOT_CALLABLE_HERE = {"aten::fill_.Tensor", "aten::norm.ScalarOpt_dim_dtype", "aten::norm.ScalarOpt_dtype"}


def test_every_compiled_operator_is_like_the_cpu_and_refuses_a_cpu_tensor_beside_a_meta_one():
    report = run(MIXED_DEVICES)
    assert report["compiled"] > 0, "the compiled meta kernels were not switched on"
    assert report["lists"] == [], "operators taking tensor lists may not check devices on meta (cat does not)"
    assert report["not_refused"] == [], "\n".join(report["not_refused"])
    assert report["unlike_cpu"] == [], "\n".join(report["unlike_cpu"])
    assert set(report["uncallable"]) <= NOT_CALLABLE_HERE, sorted(set(report["uncallable"]) - NOT_CALLABLE_HERE)
    # every overload switched to its compiled kernel was called here, however many this torch has
    assert len(report["checked"]) + len(report["uncallable"]) >= report["compiled"]


# What a learner writes, on the meta device; what a GPU does with it (with `cuda` for `meta`).
BATTERY = """
x = torch.ones(6, device="meta"); m = torch.ones(3, 4, device="meta")
t = torch.zeros(3, dtype=torch.long, device="meta")
cases = {
    "x + torch.ones(6)": lambda: x + torch.ones(6),
    "x * torch.tensor(2.0)": lambda: x * torch.tensor(2.0),
    "where(x > 0, x, torch.zeros(6))": lambda: torch.where(x > 0, x, torch.zeros(6)),
    "where(x > 0, x, 0.0)": lambda: torch.where(x > 0, x, 0.0),
    "maximum(x, zeros(6))": lambda: torch.maximum(x, torch.zeros(6)),
    "maximum(x, tensor(0.0))": lambda: torch.maximum(x, torch.tensor(0.0)),
    "x.clamp(min=zeros(6))": lambda: x.clamp(min=torch.zeros(6)),
    "x.clamp(min=0)": lambda: x.clamp(min=0),
    "cat([x, zeros(6)])": lambda: torch.cat([x, torch.zeros(6)]),
    "stack([x, zeros(6)])": lambda: torch.stack([x, torch.zeros(6)]),
    "add(x, x, out=cpu)": lambda: torch.add(x, x, out=torch.empty(6)),
    "exp / sum": lambda: m.exp() / m.exp().sum(1, keepdim=True),
    "softmax": lambda: torch.softmax(m, 1),
    "log_softmax - max": lambda: torch.log_softmax(m - m.max(1, keepdim=True).values, 1),
    "cross_entropy": lambda: torch.nn.functional.cross_entropy(m, t),
    "nll_loss": lambda: torch.nn.functional.nll_loss(m, t),
    "bce": lambda: -(x * torch.log(torch.sigmoid(x)) + (1 - x) * torch.log(1 - torch.sigmoid(x))).mean(),
    "x * (ones(6) > 0)": lambda: x * (torch.ones(6) > 0),
    "x / tensor([2.0])": lambda: x / torch.tensor([2.0]),
    "m @ ones(4)": lambda: m @ torch.ones(4),
    "prelu(x, tensor([0.25]))": lambda: torch.nn.functional.prelu(x, torch.tensor([0.25])),
    "eye(6) * x": lambda: torch.eye(6) * x,
    "heaviside(x, zeros(6))": lambda: torch.heaviside(x, torch.zeros(6)),
    "leaky_relu": lambda: torch.nn.functional.leaky_relu(x, 0.1),
    "div(x, ones(6), rounding_mode)": lambda: torch.div(x, torch.ones(6), rounding_mode="floor"),
    "x.sum().item()": lambda: x.sum().item(),
    "uniform_": lambda: torch.empty(3, 4, device="meta").uniform_(-1, 1),
    "fill_(tensor(0.5))": lambda: torch.empty(6, device="meta").fill_(torch.tensor(0.5)),
    "fill_(tensor([0.5]))": lambda: torch.empty(6, device="meta").fill_(torch.tensor([0.5])),
    "x.clamp(min=tensor(0.0))": lambda: x.clamp(min=torch.tensor(0.0)),
    "copysign(x, tensor(1.0))": lambda: torch.copysign(x, torch.tensor(1.0)),
    "lerp(x, tensor(1.0), tensor(0.5))": lambda: torch.lerp(x, torch.tensor(1.0), torch.tensor(0.5)),
    "x.clone().mul_(ones(6))": lambda: x.clone().mul_(torch.ones(6)),
    "x.clone().clamp_(min=tensor(0.0))": lambda: x.clone().clamp_(min=torch.tensor(0.0)),
    "x.clone().clamp_min_(tensor(0.0))": lambda: x.clone().clamp_min_(torch.tensor(0.0)),
    "w.zero_().add_(randn(w.shape) * 0.1)": lambda: torch.empty(3, 4, device="meta").zero_().add_(torch.randn(3, 4) * 0.1),
}
verdicts = {}
for name, case in cases.items():
    try:
        out = case()
        verdicts[name] = f"{out.device.type} {tuple(out.shape)}"
    except Exception as exc:
        verdicts[name] = "device error" if is_device_error({"type": type(exc).__name__, "message": str(exc)}) \\
            else "no data"  # meta tensors hold none: the check counts that case as passed
print(json.dumps(verdicts))
"""

ON_A_GPU = {
    "x + torch.ones(6)": "device error",
    "x * torch.tensor(2.0)": "meta (6,)",  # a 0-dim CPU tensor is a scalar: CUDA takes it
    "where(x > 0, x, torch.zeros(6))": "device error",
    "where(x > 0, x, 0.0)": "meta (6,)",
    "maximum(x, zeros(6))": "device error",
    "maximum(x, tensor(0.0))": "meta (6,)",
    "x.clamp(min=zeros(6))": "device error",
    "x.clamp(min=0)": "meta (6,)",
    "cat([x, zeros(6)])": "device error",
    "stack([x, zeros(6)])": "device error",
    "add(x, x, out=cpu)": "device error",
    "exp / sum": "meta (3, 4)",
    "softmax": "meta (3, 4)",
    "log_softmax - max": "meta (3, 4)",
    "cross_entropy": "meta ()",
    "nll_loss": "meta ()",
    "bce": "meta ()",
    "x * (ones(6) > 0)": "device error",
    "x / tensor([2.0])": "device error",  # one element, but not 0-dim: no scalar
    "m @ ones(4)": "device error",
    "prelu(x, tensor([0.25]))": "device error",
    "eye(6) * x": "device error",
    "heaviside(x, zeros(6))": "device error",
    "leaky_relu": "meta (6,)",
    "div(x, ones(6), rounding_mode)": "device error",
    "x.sum().item()": "no data",
    "uniform_": "meta (3, 4)",
    "fill_(tensor(0.5))": "meta (6,)",  # a 0-dim CPU value, as CUDA takes it
    "fill_(tensor([0.5]))": "no data",  # 1-dim: refused for its shape, on every device
    # clamp's own shape check takes no CPU scalar (CUDA runs the same check); copysign's takes one;
    # two CPU scalars are one too many for any kernel of a GPU.
    "x.clamp(min=tensor(0.0))": "device error",
    "copysign(x, tensor(1.0))": "meta (6,)",
    "lerp(x, tensor(1.0), tensor(0.5))": "device error",
    "x.clone().mul_(ones(6))": "device error",
    "x.clone().clamp_(min=tensor(0.0))": "device error",
    "x.clone().clamp_min_(tensor(0.0))": "meta (6,)",
    "w.zero_().add_(randn(w.shape) * 0.1)": "device error",
}


def test_learner_code_gets_a_gpus_verdicts_with_compiled_meta_kernels():
    assert run(BATTERY, "compiled") == ON_A_GPU


def test_a_torch_that_registers_meta_kernels_differently_is_left_alone():
    report = run("""
        import torch._meta_registrations as registrations
        registrations._meta_lib_dont_use_me_use_register_meta._op_impls.add("aten/no_such_op.default/Meta")
        print(json.dumps({"compiled": use_compiled_meta_kernels(),
                          "library_kept": registrations._meta_lib_dont_use_me_use_register_meta.m is not None}))
    """, "python")
    assert report == {"compiled": 0, "library_kept": True}


def test_the_child_side_switches_them_on_when_imported():
    """The fork server imports grader.child before it forks (and a spawned child before learner code)."""
    report = run("""
        import grader.child
        import torch._meta_registrations as registrations
        held = registrations._meta_lib_dont_use_me_use_register_meta._op_impls
        print(json.dumps({"add": "aten/add.Tensor/Meta" in held, "where": "aten/where.self/Meta" in held,
                          "cat": "aten/cat/Meta" in held}))
    """, "python")
    assert report == {"add": False, "where": True, "cat": True}  # add compiled; the others keep Python's


# torch.where on meta against an oracle: the CPU's compiled kernel (CUDA's rules of shapes and dtypes),
# and CUDA's rule of devices (a 0-dim CPU tensor is a scalar; any other CPU tensor beside a meta one is
# refused). Every placement, shape and dtype combination below.
WHERE_GRID = """
import itertools
shapes = [(), (6,), (3, 1), (1, 4), (3, 4)]
dtypes = [torch.float32, torch.float64, torch.float16, torch.int64, torch.bool]
disagreements, checked = [], 0
for cond_shape, a_shape, b_shape in itertools.product(shapes, repeat=3):
    for a_dtype, b_dtype in itertools.product(dtypes, repeat=2):
        for places in itertools.product(("meta", "cpu"), repeat=3):
            if "meta" not in places:
                continue
            cond = torch.ones(cond_shape, dtype=torch.bool)
            a, b = torch.ones(a_shape, dtype=a_dtype), torch.ones(b_shape, dtype=b_dtype)
            try:
                out = torch.where(cond, a, b)
                expected = f"meta {tuple(out.shape)} {out.dtype}"
            except RuntimeError:
                expected = "shape error"
            strays = [t for t, place in zip((cond, a, b), places) if place == "cpu" and t.dim() > 0]
            if strays and expected != "shape error":
                expected = "device error"
            args = [t.to(place) for t, place in zip((cond, a, b), places)]
            try:
                out = torch.where(*args)
                got = f"{out.device.type} {tuple(out.shape)} {out.dtype}"
            except RuntimeError as exc:
                got = "device error" if is_device_error({"type": "RuntimeError", "message": str(exc)}) else "shape error"
            checked += 1
            if got != expected and not (expected == "shape error" and got == "device error"):
                disagreements.append(f"{places} {cond_shape} {a_shape} {a_dtype} {b_shape} {b_dtype}: {got}, not {expected}")
x = torch.ones(4, 3, device="meta").t()  # not contiguous: torch's reference works out the strides
print(json.dumps({"checked": checked, "disagreements": disagreements[:20],
                  "transposed": list(torch.where(x > 0, x, 0.0).stride())}))
"""


def test_where_on_meta_does_what_cuda_does():
    report = run(WHERE_GRID)
    assert report["checked"] == 125 * 25 * 7
    assert report["disagreements"] == []
    assert report["transposed"] == [1, 3]


def test_switching_twice_changes_nothing_and_torchs_book_of_kernels_stays_right():
    report = run("""
        import gc
        again = use_compiled_meta_kernels()
        gc.collect()  # the emptied library's finaliser runs: it must not strike the keys registered again
        from torch.library import _impls
        print(json.dumps({"first": compiled, "again": again, "where": "aten/where.self/Meta" in _impls,
                          "add": "aten/add.Tensor/Meta" in _impls}))
    """)
    assert report["first"] == report["again"] > 0
    assert report["where"] and not report["add"]


def test_a_failure_halfway_puts_every_python_kernel_back():
    report = run("""
        import torch.library
        real_impl, calls = torch.library.Library.impl, [0]
        def failing(self, *args, **kwargs):
            calls[0] += 1
            if calls[0] == 500:
                raise RuntimeError("simulated")
            return real_impl(self, *args, **kwargs)
        torch.library.Library.impl = failing
        switched = use_compiled_meta_kernels()
        x = torch.ones(6, device="meta")
        try:
            x + torch.ones(6)
            mixed = "accepted"
        except RuntimeError as exc:
            mixed = str(exc)
        import torch._meta_registrations as registrations
        held = registrations._meta_lib_dont_use_me_use_register_meta._op_impls
        print(json.dumps({"switched": switched, "where": str(torch.where(x > 0, x, 0.0).device),
                          "add_python": "aten/add.Tensor/Meta" in held, "mixed": mixed}))
    """, "python")
    assert report["switched"] == 0
    assert report["where"] == "meta" and report["add_python"]
    assert "not on the expected device" in report["mixed"]  # torch's Python kernel's words, as before
