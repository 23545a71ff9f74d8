"""Check kinds: each prepares calls and expectations, then judges plain results case by case.

One module per kind; KINDS maps the YAML `kind` to it. A kind module has
`prepare(ctx, exercise, check) -> Prepared` and `judge_case(prepared, case, result) -> CaseVerdict`,
and `DRAWS_PICTURES = True` where its feedback draws with matplotlib.
"""
from __future__ import annotations

from types import ModuleType

from ..kinds.derivative import judge as derivative
from ..kinds.device import judge as device
from ..kinds.distribution import judge as distribution
from ..kinds.exact import judge as exact
from ..kinds.experiment import judge as experiment
from ..kinds.forbid import judge as forbid
from ..kinds.forbid_function import judge as forbid_function
from ..kinds.generator import judge as generator
from ..kinds.gradient import judge as gradient
from ..kinds.in_place import judge as in_place
from ..kinds.plot import judge as plot
from ..kinds.question import judge as question
from ..kinds.values import judge as values
from .base import CaseVerdict, Context, Prepared, SpecProblem

KINDS: dict[str, ModuleType] = {
    "values": values,
    "gradient": gradient,
    "derivative": derivative,
    "forbid": forbid,
    "device": device,
    "question": question,
    "experiment": experiment,
    "plot": plot,
    "distribution": distribution,
    "in_place": in_place,
    "generator": generator,
    "exact": exact,
    "forbid_function": forbid_function,
}

__all__ = ["KINDS", "CaseVerdict", "Context", "Prepared", "SpecProblem"]
