"""generator: a random initialiser draws from the `generator` it is given, and from nothing else.

Each case makes three calls on fresh tensors: two with generators seeded alike (the global RNG
seeded differently before each), one with another seed. Equal seeds must give identical values,
different seeds different values, and the global RNG (torch.manual_seed's) must not move: a
routine that ignores `generator` fails all three promises, one that reseeds inside fails two.
"""
from __future__ import annotations

from typing import Any

import torch

from ..spec import Exercise
from ..spec.checks import CheckBase
from .base import CaseVerdict, Context, Prepared
from .init_cases import InitCase, build_init_cases, case_seed, fail, init_call, produced_values, raised_verdict

DEFAULT_DTYPES = ["float32"]
SAMPLE = 4096


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = build_init_cases(ctx.course, exercise, check, DEFAULT_DTYPES, devices=["cpu"])
    calls = []
    for case in cases:
        seed, other = case_seed(case.seed, "generator") % 2**62, case_seed(case.seed, "other") % 2**62
        global_seeds = [case_seed(case.seed, "global", i) % 2**62 for i in range(3)]
        calls.append(init_call(check, case, "init_generator", seeds=[seed, seed, other], global_seeds=global_seeds,
                               sample=SAMPLE))
    return Prepared(exercise, check, cases, calls)


def judge_case(prepared: Prepared, case: InitCase, result: dict[str, Any]) -> CaseVerdict:
    runs = result["runs"]
    values = []
    for run in runs:
        if "error" in run:
            return raised_verdict(case, run)
        produced, problem = produced_values(case, run)
        if problem is not None:
            return fail(case, f"With a generator given: {problem}", "values")
        values.append(produced)
    first, again, other = values
    if not torch.equal(first, again):
        return fail(case, "Two calls with generators seeded alike gave different values. Draw every random number "
                          "from the generator you are given: torch.rand(..., generator=generator), "
                          "torch.randn(..., generator=generator) or tensor.uniform_(a, b, generator=generator); "
                          "then the same seed gives the same weights on any run, which makes experiments "
                          "reproducible.", None)
    if torch.equal(first, other):
        return fail(case, "Generators seeded differently gave identical values: does your function seed a "
                          "generator itself (torch.manual_seed, .manual_seed(...))? Use the generator as given.",
                    None)
    moved = [i for i, run in enumerate(runs) if not torch.equal(run["global_before"], run["global_after"])]
    if moved:
        return fail(case, "With a generator given, your function still drew from the global random number generator "
                          "(the one torch.manual_seed seeds): every random call must receive generator=generator.",
                    None)
    return CaseVerdict(case.id, case.label, True)
