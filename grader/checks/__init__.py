"""Check kinds: each prepares calls and expectations, then judges plain results case by case.

One module per kind; KINDS maps the YAML `kind` to it. A kind module has
`prepare(ctx, exercise, check) -> Prepared` and `judge_case(prepared, case, result) -> CaseVerdict`,
and `DRAWS_PICTURES = True` where its feedback draws with matplotlib.
"""
from __future__ import annotations

from types import ModuleType

from . import derivative, device, forbid, gradient, plot, values
from . import experiment, question
from . import distribution, exact, forbid_function, generator, in_place
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
