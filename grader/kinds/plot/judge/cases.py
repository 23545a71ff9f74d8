"""The cases of a plot check: what each call draws, what each of its two axes must show.

A case is one call of the student's function (one activation name, or one list of logits). Its
panels say what the left and the right axes should hold, and its lookalikes name the wrong
things a student may have drawn instead, so feedback can say "this looks like tanh′".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from grader.checks.base import SpecProblem
from grader.spec import Exercise, resolve_callable

from ..model import PlotCheck


@dataclass(frozen=True)
class Panel:
    """What one axes must show: a curve (a function or its derivative) or bars of given heights."""

    title: str
    function: Callable | None = field(default=None, compare=False)
    derivative: bool = False
    kinks: tuple[float, ...] = ()
    bars: torch.Tensor | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PlotCase:
    """One call: plot_activation('sigmoid', path) or plot_softmax(logits, path)."""

    id: str
    label: str
    argument: Any = field(compare=False)
    panels: tuple[Panel, Panel] = field(compare=False)
    lookalikes: tuple[Panel, ...] = field(compare=False, default=())
    device: str = "cpu"
    dtype: str = "float32"


def source_of(exercise: Exercise, check: PlotCheck) -> PlotCheck:
    """The check itself, or the exercise's first plot check of the same figure that lists cases."""
    own = check.functions if check.figure == "activation" else check.logits
    if own is not None:
        return check
    for other in exercise.checks:
        if isinstance(other, PlotCheck) and other.figure == check.figure:
            if (other.functions if check.figure == "activation" else other.logits) is not None:
                return other
    what = "functions" if check.figure == "activation" else "logits"
    raise SpecProblem(f"{exercise.id}: the plot check '{check.label}' has no '{what}', and no earlier plot check "
                      f"of figure {check.figure} has any to reuse")


def build_cases(root: Any, exercise: Exercise, check: PlotCheck) -> list[PlotCase]:
    source = source_of(exercise, check)
    if check.figure == "activation":
        return _activation_cases(root, exercise, source)
    return _softmax_cases(exercise, source)


def _activation_cases(root: Any, exercise: Exercise, source: PlotCheck) -> list[PlotCase]:
    functions: dict[str, tuple[Callable, tuple[float, ...]]] = {}
    for name, spec in (source.functions or {}).items():
        try:
            function = resolve_callable(root, spec.of)
            probe = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
            torch.autograd.grad(function(probe).sum(), probe, allow_unused=True)
        except Exception as exc:
            raise SpecProblem(f"{exercise.id}: functions: {name}: {spec.of} cannot be evaluated and "
                              f"differentiated: {type(exc).__name__}: {exc}") from None
        functions[name] = (function, tuple(spec.kinks))
    cases = []
    for name, (function, kinks) in functions.items():
        panels = (Panel(f"{name}(x)", function, False, kinks), Panel(f"{name}′(x)", function, True, kinks))
        lookalikes = tuple(
            Panel(f"{other}′(x)" if derivative else f"{other}(x)", f, derivative, k)
            for other, (f, k) in functions.items() for derivative in (False, True) if other != name)
        cases.append(PlotCase(name, f"{exercise.function_name}({name!r}, path)", name, panels, lookalikes))
    return cases


def _softmax_cases(exercise: Exercise, source: PlotCheck) -> list[PlotCase]:
    cases = []
    for index, row in enumerate(source.logits or []):
        logits = torch.tensor(row, dtype=torch.float64)
        once = torch.softmax(logits, dim=0)
        twice = torch.softmax(once, dim=0)
        panels = (Panel("softmax(logits)", bars=once), Panel("softmax(softmax(logits))", bars=twice))
        lookalikes = (Panel("the raw logits", bars=logits), Panel("softmax(logits)", bars=once),
                      Panel("softmax(softmax(logits))", bars=twice))
        shown = ", ".join(repr(float(v)) for v in row)
        cases.append(PlotCase(f"logits-{index}", f"{exercise.function_name}(tensor([{shown}]), path)",
                              logits.to(torch.float32), panels, lookalikes))
    return cases


def share_key(exercise: Exercise, case: PlotCase) -> str:
    """Calls with the same arguments are one observation, whichever check judges them."""
    if isinstance(case.argument, torch.Tensor):
        return f"{exercise.id}/" + ",".join(repr(float(v)) for v in case.argument)
    return f"{exercise.id}/{case.argument!r}"
