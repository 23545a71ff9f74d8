"""Inputs for every check: shapes, ranges, explicit extremes, dtypes, devices, fixed seeds.

Every random tensor comes from a generator seeded by (course seed, exercise, check, case), and
is drawn in float64 before the cast, so float32 and float64 cases see the same numbers and a
submission gets the same inputs on any machine.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch

from .calls import layout_of, variant_of
from .spec import Course, Exercise
from .spec.checks import CaseSource, CheckBase, LiteralTensor, TensorInput

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}

#: Where a check names no dtypes, its kind's default_dtypes come first: the gradient kinds compare in
#: float32 and float64, since a gradient that is right in one dtype can be wrong in the other (an
#: overflow only float32 reaches).
#:
#: Kinds with kink_cases get random cases holding the points where the usual formulas break: 0 and −0
#: exactly, the kink of relu, leaky_relu and prelu, and the point where `abs`/`sign` built into a smooth
#: function gives autograd a gradient of 0 (a sigmoid fed exp(−|x|) has gradient 0 there, not 1/4).
KINKS = (0.0, -0.0)
#:
#: Kinds with strided_cases get one random case a check (the one with the most dimensions) as
#: non-contiguous views of the same numbers: a function that is right only for contiguous memory
#: (x.view(-1), a walk over x.storage()) fails that case, which feedback names. See `strided`.


@dataclass(frozen=True)
class Case:
    """One call of the student's function: its arguments, on one dtype and device."""

    id: str
    args: dict[str, torch.Tensor] = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False)
    dtype: str
    device: str
    #: the child hands the function non-contiguous views of args' float tensors (`strided`)
    strided: bool = False

    @functools.cached_property
    def label(self) -> str:
        """How feedback names this case; asked for every case judged, so made once."""
        names = list(self.args)
        parts = [f"{name}: {describe_tensor(t)}" +
                 (f" ({layout})" if self.strided and (layout := layout_of(t, variant_of(names, name))) else "")
                 for name, t in self.args.items()]
        parts += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return ", ".join(parts) + f" on {self.device}"


def describe_tensor(t: torch.Tensor) -> str:
    return f"{str(t.dtype).removeprefix('torch.')} {tuple(t.shape)}"


def case_source(exercise: Exercise, check: CheckBase) -> CaseSource:
    """The check's own inputs, or those of the first check in the exercise that has some."""
    if check.has_own_cases():
        return check
    for other in exercise.checks:
        if other.has_own_cases():
            return other
    return check


def build_cases(course: Course, exercise: Exercise, check: CheckBase) -> list[Case]:
    source = case_source(exercise, check)
    dtypes = check.dtypes or list(check.default_dtypes or ()) or source.dtypes or ["float32", "float64"]
    kwarg_sets = check.kwargs if check.kwargs is not None else (source.kwargs or [{}])
    devices = check.devices
    base_args = list(_base_arguments(source, with_kinks=check.kink_cases))
    strided_index = _strided_index(base_args) if check.strided_cases else None
    cases: list[Case] = []
    for arg_index, (origin, arguments) in enumerate(base_args):
        for kwargs in kwarg_sets:
            if not _kwargs_fit(kwargs, arguments):
                continue
            for dtype in dtypes:
                for device in devices:
                    seed = _seed(course.seed, exercise.id, check.label, arg_index)
                    args = {name: make(seed, i, dtype) for i, (name, make) in enumerate(arguments.items())}
                    case_id = f"{origin}-{len(cases)}"
                    cases.append(Case(case_id, args, dict(kwargs), dtype, device, arg_index == strided_index))
    return cases


def _strided_index(base_args: list) -> int | None:
    """The random argument set whose float inputs have the most dimensions longer than 1 (the last of
    equals): there a view in another layout tells most functions apart that only work on contiguous
    memory (.view merging a batch's dimensions needs three)."""
    best = None
    for index, (origin, arguments) in enumerate(base_args):
        if origin != "random":
            continue
        tensors = [make(0, i, "float64") for i, make in enumerate(arguments.values())]
        if not any(layout_of(t) for t in tensors):
            continue
        rank = max(sum(n > 1 for n in t.shape) for t in tensors if layout_of(t))
        if best is None or rank >= best[0]:
            best = (rank, index)
    return None if best is None else best[1]


def _base_arguments(source: CaseSource, with_kinks: bool = False):
    """Yield (origin, {name: maker(seed, position, dtype) -> tensor}) for random and explicit cases.

    With `with_kinks`, every random float input whose range has 0 strictly inside starts with the
    KINKS (where it has room for them), so no gradient is judged only away from them."""
    if source.inputs:
        count = len(next(iter(source.inputs.values())).shapes)
        for index in range(count):
            yield "random", {name: _random_maker(spec, index, _classes(source, spec, index), with_kinks)
                             for name, spec in source.inputs.items()}
    for literal in source.cases:
        yield "explicit", {name: _literal_maker(value) for name, value in literal.items()}


def _classes(source: CaseSource, spec: TensorInput, index: int) -> int | None:
    """C for an input of class indices: the last dimension of the input it indexes."""
    if spec.classes_of is None:
        return None
    other = source.inputs[spec.classes_of].shapes[index]  # type: ignore[index]
    return other[-1] if other else 1


def _random_maker(spec: TensorInput, index: int, classes: int | None = None, with_kinks: bool = False):
    shape = spec.shapes[index]
    kinks = with_kinks and spec.integers is None and classes is None and spec.range[0] < 0 < spec.range[1]

    def make(seed: int, position: int, dtype: str) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed * 31 + position)
        if classes is not None or spec.integers is not None:
            low, high = (0, classes) if classes is not None else spec.integers
            return torch.randint(low, high, shape, generator=generator, dtype=torch.int64)
        low, high = spec.range
        values = torch.rand(shape, generator=generator, dtype=torch.float64) * (high - low) + low
        if kinks:
            flat = values.view(-1)
            room = min(len(KINKS), flat.numel())
            flat[:room] = torch.tensor(KINKS[:room], dtype=torch.float64)
        return values.to(DTYPES[dtype])

    return make


def _literal_maker(value: Any):
    def make(seed: int, position: int, dtype: str) -> torch.Tensor:
        if isinstance(value, LiteralTensor):
            if value.dtype == "int64":
                return torch.tensor(value.values, dtype=torch.int64)
            return torch.tensor(value.values, dtype=torch.float64).to(DTYPES[dtype])
        return torch.tensor(value, dtype=torch.float64).to(DTYPES[dtype])

    return make


def _kwargs_fit(kwargs: dict, arguments: dict) -> bool:
    """A `dim` keyword only applies to inputs that have that dimension."""
    if "dim" not in kwargs or not isinstance(kwargs["dim"], int):
        return True
    first = next(iter(arguments.values()))
    ndim = first(0, 0, "float64").dim()
    return -max(ndim, 1) <= kwargs["dim"] < max(ndim, 1)


def _seed(course_seed: int, *parts: Any) -> int:
    digest = hashlib.sha256(repr((course_seed,) + parts).encode()).digest()
    return int.from_bytes(digest[:6], "little")


def upstream_gradient(case: Case, output_shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
    """A fixed random weighting of the output, so the gradient check sees every element."""
    generator = torch.Generator().manual_seed(_seed(0, "upstream", case.id) % (2**31))
    return (torch.rand(output_shape, generator=generator, dtype=torch.float64) + 0.5).to(dtype)
