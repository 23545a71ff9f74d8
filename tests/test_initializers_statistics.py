"""The distribution check's stated error rates, proven on the course's own cases across 200 seeds.

Each seed re-seeds the whole course: the reference's samples and the learner's both change. The
probe and the judge are the ones grading uses, called in this process (no sandbox needed: the
"learner" here is torch.nn.init itself or a known mistake).
"""
from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch

from grader.kinds.distribution import judge as distribution
from grader.checks.base import Context, Prepared
from grader.checks.init_cases import build_init_cases
from grader.kinds.distribution.judge.ks import KS_ALPHA, ks_p_value, ks_statistic, ks_threshold
from grader.probes.init import sample_probe

SEEDS = range(200)
init = torch.nn.init


@pytest.fixture(autouse=True)
def one_thread():
    """Sampling 131 072 values is faster alone than split over busy cores (OpenMP threads spin-wait)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def distribution_checks(course):
    return [(exercise, check) for exercise in course.exercises if exercise.module == "initializers"
            for check in exercise.checks if check.kind == "distribution"]


def verdicts(course, seed: int, exercise_id: str, check_label: str, fn, cases: list[int] | None = None,
             stop_at_failure: bool = False) -> list:
    """The check's verdicts (or only those of the given case indices) with the course re-seeded."""
    exercise = course.exercise(exercise_id)
    check = next(c for c in exercise.checks if c.label == check_label)
    ctx = Context(course=dataclasses.replace(course, seed=seed))
    out = []
    with torch.random.fork_rng(devices=[]):  # the probe seeds the global RNG, as it does in a child
        for index, case in enumerate(build_init_cases(ctx.course, exercise, check, distribution.DEFAULT_DTYPES)):
            if cases is not None and index not in cases:
                continue
            call, expected = distribution.prepare_case(ctx, exercise, check, case)
            prepared = Prepared(exercise, check, [case], [call], {call["key"]: expected})
            out.append(distribution.judge_case(prepared, case, sample_probe(fn, call)))
            if stop_at_failure and not out[-1].passed:
                break
    return out


def test_ks_statistic_is_the_largest_gap_between_the_empirical_cdfs_ties_included():
    rng = np.random.default_rng(0)
    for n, m in [(1, 1), (5, 3), (40, 70), (200, 200)]:
        a = np.sort(rng.integers(0, 12, n).astype(np.float64))  # many ties, within and across samples
        b = np.sort(rng.integers(0, 12, m).astype(np.float64))
        points = np.concatenate([a, b])
        brute = max(abs(np.mean(a <= x) - np.mean(b <= x)) for x in points)
        assert ks_statistic(a, b) == pytest.approx(brute, abs=1e-12)


def test_the_ks_threshold_is_exceeded_by_right_work_with_the_stated_probability():
    for n, m in [(16384, 16384), (9216, 9216), (10240, 10240), (100, 300)]:
        assert ks_p_value(ks_threshold(n, m), n, m) == pytest.approx(KS_ALPHA, rel=1e-6)


def test_a_standard_deviation_off_by_sqrt2_is_beyond_the_threshold_even_on_the_smallest_tensor():
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    gap = max(abs(phi(x / 100) - phi(x / 100 / math.sqrt(2))) for x in range(1, 500))
    assert gap > 1.6 * ks_threshold(9216, 9216)  # 0.083 against 0.048: why the course uses these sizes


def first_case_of_each_shape(course, exercise, check) -> list[int]:
    firsts: dict = {}
    for index, case in enumerate(build_init_cases(course, exercise, check, distribution.DEFAULT_DTYPES)):
        firsts.setdefault(case.shape, index)
    return sorted(firsts.values())


@pytest.mark.slow
def test_the_reference_never_fails_a_distribution_check_across_200_seeds(course):
    """Every distribution check, on each of its shapes (its keyword sets only rescale the same draws, and the
    KS distance does not change when both samples are rescaled alike), with the course re-seeded 200 times."""
    failures = []
    for exercise, check in distribution_checks(course):
        reference, cases = getattr(init, exercise.id), first_case_of_each_shape(course, exercise, check)
        for seed in SEEDS:
            failures += [f"{exercise.id}/{check.label} seed {seed} {v.label}: {v.message}"
                         for v in verdicts(course, seed, exercise.id, check.label, reference, cases) if not v.passed]
    assert failures == []


@pytest.mark.slow
def test_the_reference_never_fails_any_case_of_the_course_across_10_seeds(course):
    """Every case, every keyword set (bounds and rounding differ per keyword set), on 10 re-seeded courses."""
    failures = []
    for exercise, check in distribution_checks(course):
        for seed in range(1000, 1010):
            failures += [f"{exercise.id}/{check.label} seed {seed} {v.label}: {v.message}"
                         for v in verdicts(course, seed, exercise.id, check.label, getattr(init, exercise.id))
                         if not v.passed]
    assert failures == []


def _fans(w):
    k = math.prod(w.shape[2:])
    return w.shape[1] * k, w.shape[0] * k


def kaiming_fan_out_default(tensor, a=0.0, mode="fan_out", nonlinearity="leaky_relu", generator=None):
    return init.kaiming_normal_(tensor, a, mode, nonlinearity, generator)


def kaiming_fans_without_receptive_field(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    fan = tensor.shape[1] if mode == "fan_in" else tensor.shape[0]
    with torch.no_grad():
        return tensor.normal_(0, init.calculate_gain(nonlinearity, a) / math.sqrt(fan), generator=generator)


def kaiming_uniform_without_sqrt3(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    bound = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def xavier_normal_without_factor_2(tensor, gain=1.0, generator=None):
    with torch.no_grad():
        return tensor.normal_(0, gain * math.sqrt(1 / sum(_fans(tensor))), generator=generator)


def xavier_uniform_equal_rows(tensor, gain=1.0, generator=None):
    bound = gain * math.sqrt(6 / sum(_fans(tensor)))
    with torch.no_grad():
        return tensor.copy_(torch.empty_like(tensor[0]).uniform_(-bound, bound, generator=generator).expand_as(tensor))


def uniform_a_plus_b_times_u(tensor, a=0.0, b=1.0, generator=None):
    with torch.no_grad():
        return tensor.copy_(a + b * torch.rand(tensor.shape, generator=generator))


def normal_with_the_variance_as_std(tensor, mean=0.0, std=1.0, generator=None):
    with torch.no_grad():
        return tensor.normal_(mean, std * std, generator=generator)


#: (exercise, check, mistake): the check must fail on every seed.
MISTAKES = [
    ("kaiming_normal_", "distribution", kaiming_fan_out_default),
    ("kaiming_normal_", "conv", kaiming_fan_out_default),
    ("kaiming_normal_", "conv", kaiming_fans_without_receptive_field),
    ("kaiming_uniform_", "distribution", kaiming_uniform_without_sqrt3),
    ("kaiming_uniform_", "conv", kaiming_uniform_without_sqrt3),
    ("xavier_normal_", "distribution", xavier_normal_without_factor_2),
    ("xavier_normal_", "conv", xavier_normal_without_factor_2),
    ("xavier_uniform_", "distribution", xavier_uniform_equal_rows),
    ("xavier_uniform_", "conv", xavier_uniform_equal_rows),
    ("uniform_", "distribution", uniform_a_plus_b_times_u),
    ("normal_", "distribution", normal_with_the_variance_as_std),
]


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id, check_label, mistake", MISTAKES,
                         ids=[f"{e}-{c}-{m.__name__}" for e, c, m in MISTAKES])
def test_each_listed_mistake_fails_its_distribution_check_on_every_one_of_200_seeds(course, exercise_id,
                                                                                      check_label, mistake):
    # The first case the mistake fails at seed 0 must fail at every seed (enough for the check to fail).
    first = next(i for i, v in enumerate(verdicts(course, 0, exercise_id, check_label, mistake)) if not v.passed)
    passed_on = [seed for seed in SEEDS if verdicts(course, seed, exercise_id, check_label, mistake, [first])[0].passed]
    assert passed_on == []


def test_mistakes_that_only_some_keywords_reveal_still_fail_their_cases_there(course):
    """kaiming with fan_out as default passes the cases that name the mode, fails those that do not."""
    results = verdicts(course, 0, "kaiming_normal_", "distribution", kaiming_fan_out_default)
    exercise = course.exercise("kaiming_normal_")
    kwargs = next(c for c in exercise.checks if c.label == "distribution").kwargs
    for verdict, keywords in zip(results, itertools.cycle(kwargs)):
        assert verdict.passed == ("mode" in keywords), (keywords, verdict.message)
