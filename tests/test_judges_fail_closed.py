"""A judge fails a case when the evidence it needs is missing, malformed or not a number: it never
passes work it could not check. Records are written here (or made by the child's own probe on a
function written here) and read back through the wire as the grader reads them; no process starts."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from grader import kinds, wire
from grader.checks import CaseVerdict, Context, Prepared

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def prepare(course) -> Callable[[str, str], Prepared]:
    """prepare(exercise id, check label) → the check prepared as a teacher's grading prepares it (cached)."""
    done: dict[tuple[str, str], Prepared] = {}

    def prepared(exercise_id: str, label: str) -> Prepared:
        if (exercise_id, label) not in done:
            exercise = course.exercise(exercise_id)
            check = next(c for c in exercise.checks if c.label == label)
            done[exercise_id, label] = kinds.judge(check.kind).prepare(Context(course=course, hidden=True), exercise,
                                                                       check)
        return done[exercise_id, label]

    return prepared


def judged(prepared: Prepared, record: dict[str, Any], case: int = 0) -> CaseVerdict:
    """The verdict on one case's record, as the grader reads it from the child."""
    return kinds.judge(prepared.check.kind).judge_case(prepared, prepared.cases[case],
                                                       wire.loads(wire.dumps(record)))


def probed(prepared: Prepared, fn: Callable) -> list[CaseVerdict]:
    """Each case's verdict on what the child's probe records of `fn`."""
    verdicts = []
    for case, call in zip(prepared.cases, prepared.calls):
        record = kinds.probes()[call["probe"]](fn, dict(call, submission_dir=None))
        verdicts.append(kinds.judge(prepared.check.kind).judge_case(prepared, case, wire.loads(wire.dumps(record))))
    return verdicts


def test_exact_fails_a_number_that_is_nan(prepare):
    exercise = "calculate_gain"
    prepared = prepare(exercise, "exact")
    verdicts = probed(prepared, lambda nonlinearity, param=None: float("nan"))
    assert verdicts and not any(v.passed for v in verdicts)
    assert "got nan" in verdicts[0].message


def test_forbid_fails_a_record_that_does_not_say_the_recorder_stayed(prepare):
    prepared = prepare("sigmoid", "forbid")
    verdict = judged(prepared, {"ops": ["aten.exp.default"], "calls": 7, "returned": 7})
    assert not verdict.passed and verdict.hint_key == "forbid"
    assert judged(prepared, {"ops": ["aten.exp.default"], "recorder_intact": True, "calls": 7, "returned": 7}).passed


def test_forbid_function_fails_a_record_that_does_not_say_the_profiler_stayed(prepare):
    prepared = prepare("xavier_uniform_", "forbid_function")
    verdict = judged(prepared, {"called": []})
    assert not verdict.passed and "sys.setprofile" in verdict.message
    assert judged(prepared, {"called": [], "recorder_intact": True}).passed


def _uniform_(tensor, a=0.0, b=1.0, generator=None):
    import torch
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def test_generator_fails_a_record_without_the_calls_made_with_generator_none(prepare):
    prepared = prepare("uniform_", "generator")
    call = prepared.calls[0]
    record = kinds.probes()[call["probe"]](_uniform_, dict(call, submission_dir=None))
    assert judged(prepared, record).passed
    for global_runs in ([], record["global_runs"][:2]):
        verdict = judged(prepared, dict(record, global_runs=global_runs))
        assert not verdict.passed and "generator=None" in verdict.message
    verdict = judged(prepared, {k: v for k, v in record.items() if k != "global_runs"})
    assert not verdict.passed
