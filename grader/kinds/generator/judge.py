"""generator: a random initialiser draws from the `generator` it is given, and from nothing else.

Each case makes three calls on fresh tensors: two with generators seeded alike (the global RNG
seeded differently before each), one with another seed. Equal seeds must give identical values,
different seeds different values, and the global RNG (torch.manual_seed's) must not move: a
routine that ignores `generator` fails all three promises, one that reseeds inside fails two.

Three more calls leave `generator` at its default, None: after the global RNG is seeded alike they
must give identical values, after another seed other values, and the global RNG must have moved; so
a routine that makes its own generator when given none (a fresh `torch.Generator()`, one seeded 0)
fails, as the statement says to draw from the global generator then.
"""
from __future__ import annotations

from typing import Any

import torch

from grader.checks.base import CaseVerdict, Context, Prepared
from grader.checks.init_cases import InitCase, build_init_cases, case_seed, fail, init_call, produced_values, raised_verdict
from grader.spec import Exercise
from grader.spec.checks import CheckBase

from .record import GeneratorRecord

DEFAULT_DTYPES = ["float32"]
SAMPLE = 4096


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    cases = build_init_cases(ctx.course, exercise, check, DEFAULT_DTYPES, devices=["cpu"])
    calls = []
    for case in cases:
        seed, other = case_seed(case.seed, "generator") % 2**62, case_seed(case.seed, "other") % 2**62
        global_seeds = [case_seed(case.seed, "global", i) % 2**62 for i in range(3)]
        none_seeds = [case_seed(case.seed, "none", i) % 2**62 for i in range(2)]
        calls.append(init_call(check, case, "init_generator", seeds=[seed, seed, other], global_seeds=global_seeds,
                               sample=SAMPLE, none_global_seeds=[none_seeds[0], none_seeds[0], none_seeds[1]]))
    return Prepared(exercise, check, cases, calls)


def judge_case(prepared: Prepared, case: InitCase, result: GeneratorRecord) -> CaseVerdict:
    runs = result["runs"]
    values = _values_of(case, runs, "With a generator given")
    if isinstance(values, CaseVerdict):
        return values
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
    return _judge_without_generator(case, result.get("global_runs", []))


def _judge_without_generator(case: InitCase, runs: list[dict[str, Any]]) -> CaseVerdict:
    """generator=None: the values follow the global generator (torch.manual_seed), which moves."""
    values = _values_of(case, runs, "With generator=None")
    if isinstance(values, CaseVerdict):
        return values
    if len(values) != 3:  # the probe makes three calls unless one raises, which is judged above
        return fail(case, "With generator=None, the grader could not read back the values of your function's "
                          "three calls, so it could not check that they follow torch.manual_seed.", "error")
    first, again, other = values
    if not torch.equal(first, again):
        return fail(case, "With generator=None, two calls after torch.manual_seed with the same seed gave different "
                          "values: draw from the global generator (leave generator=None as it is: torch.rand(..., "
                          "generator=None) uses it) and do not reseed it.", None)
    if torch.equal(first, other) or any(torch.equal(run["global_before"], run["global_after"]) for run in runs):
        return fail(case, "With generator=None, your function gave the same values whatever torch.manual_seed set: "
                          "it does not draw from the global generator. Do not make a generator of your own "
                          "(torch.Generator(), .manual_seed(0)) when none is given: pass generator=None on to "
                          "torch's random functions, which then use the global one.", None)
    return CaseVerdict(case.id, case.label, True)


def _values_of(case: InitCase, runs: list[dict[str, Any]], setting: str) -> list[torch.Tensor] | CaseVerdict:
    """The values each run produced, or the verdict on the first run that raised or produced no values."""
    values = []
    for run in runs:
        if "error" in run:
            return raised_verdict(case, run)
        produced, problem = produced_values(case, run)
        if problem is not None:
            return fail(case, f"{setting}: {problem}", "values")
        values.append(produced)
    return values
