"""Verdicts → points, and the result objects every reporter reads.

A check earns its points only when every one of its cases passes: each check is one promise
(right values, stable at extremes, right gradient …), so its feedback names the first case
that breaks it. Exercise and submission scores are sums.
"""
from __future__ import annotations

import dataclasses

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from . import kinds
from .checks.base import CaseVerdict
from .spec import Exercise, Mistake
from .spec.checks import CheckBase

Status = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    status: Status
    score: float
    max_score: float
    feedback: str
    hidden: bool = False
    cases_passed: int = 0
    cases_total: int = 0
    attachments: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    #: the id of the catalogued mistake whose outputs the failing case matched (checks.mistakes)
    mistake: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"name": self.name, "status": self.status, "score": self.score, "max_score": self.max_score,
                "feedback": self.feedback}
        if self.mistake is not None:
            data["mistake"] = self.mistake
        return data


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    checks: tuple[CheckResult, ...]

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if c.status in ("failed", "error")), None)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "max_score": self.max_score,
                "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class SubmissionResult:
    submission: str
    exercises: tuple[ExerciseResult, ...]
    details: dict[str, Any] = field(default_factory=dict)  # timings, limits hit, confinement

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 6)

    def to_json(self) -> dict[str, Any]:
        """The shape of results.json (docs/reference/results-schema.md)."""
        return {"submission": self.submission, "score": self.score, "max_score": self.max_score,
                "exercises": [e.to_json() for e in self.exercises]}


#: Failures that say by themselves what went wrong, whatever the check: a hint written for another kind of
#: failure (a check's own hint, the exercise's default) would mislead there, so only a hint for that very
#: failure is shown.
SELF_EVIDENT = frozenset({"error", "in_place_grad", "nan", "dtype", "shape", "device", "not_tensor",
                          "modified_input", "graph_cut"})

#: What autograd says when a tensor that requires grad (a Parameter) is written in place outside no_grad.
LEAF_WRITTEN_IN_PLACE = ("leaf Variable that requires grad", "a view of a leaf Variable that requires grad")

#: Hints the grader gives where the exercise has none for that failure.
BUILT_IN_HINTS = {
    "in_place_grad": "write into the tensor inside `with torch.no_grad():` (or through tensor.data): a tensor that "
                     "requires grad, such as a model's weight, cannot be written in place otherwise.",
}


def failure_key(verdict: CaseVerdict) -> str | None:
    """What actually went wrong in a failing case, from its verdict: the judge's key, made precise where the
    message says more (a write into a tensor that requires grad; backward raising rather than a wrong gradient)."""
    key = verdict.hint_key
    if key == "error" and any(text in verdict.message for text in LEAF_WRITTEN_IN_PLACE):
        return "in_place_grad"
    if key == "gradient" and verdict.message.startswith("Back-propagating through your function raised"):
        return "error"
    return key


def hint_for(exercise: Exercise, check: CheckBase, key: str | None) -> str | None:
    """For a failure that speaks for itself (it raised, nan, a wrong dtype …): the exercise's hint for it, else
    the grader's own. For a failure of the check's own kind (wrong values, a wrong gradient, a forbidden call):
    the check's hint, else the exercise's hint for that failure, else its default."""
    if key in SELF_EVIDENT:
        return exercise.hints.get(key) or BUILT_IN_HINTS.get(key or "")  # type: ignore[call-overload]
    if check.hint:
        return check.hint
    if key and key in exercise.hints:
        return exercise.hints[key]  # type: ignore[index]
    return exercise.hints.get("default")  # type: ignore[call-overload]


#: What a failing gradient check adds when the exercise's values checks say whether the values are right.
GRADIENT_WITH_RIGHT_VALUES = ("Your function's values are right (its values checks pass): only its gradient is wrong. "
                              "Look for a step autograd differentiates otherwise than the maths: |x| or sign(x) (their "
                              "gradient at 0 is 0), clamp, a torch.where whose other branch overflows, .detach() on part "
                              "of the computation.")
GRADIENT_WITH_WRONG_VALUES = ("Your function's values are wrong too (see its values check): fix them first; the gradient "
                              "follows them.")


def values_verdict(checks: list[tuple[str, list[CaseVerdict]]]) -> Literal["right", "wrong"] | None:
    """Whether an exercise's values are right ("right": every values check passes), wrong (a values check
    found wrong numbers or nan), or neither is known (no values check, or one failing for another reason).
    A values check is one whose kind judges_values (its model says so)."""
    models = kinds.models()
    values = [verdicts for kind, verdicts in checks if kind in models and models[kind].judges_values]
    if not values:
        return None
    if any(not v.passed and v.hint_key in ("values", "nan") for verdicts in values for v in verdicts):
        return "wrong"
    return "right" if all(v.passed for verdicts in values for v in verdicts) else None


def score_check(exercise: Exercise, check: CheckBase, verdicts: list[CaseVerdict],
                mistake: Mistake | None = None, values: Literal["right", "wrong"] | None = None) -> CheckResult:
    """`mistake`: the catalogued mistake the first failing case matched; its words come first. `values`: whether
    the exercise's values are right (values_verdict), which tells a wrong gradient's two causes apart."""
    points = float(check.points)
    total = len(verdicts)
    passed = sum(v.passed for v in verdicts)
    if total == 0:
        return CheckResult(check.label, check.kind, "skipped", 0.0, points,
                           "No case of this check runs on this machine.", check.hidden)
    if passed == total:
        notes = [v.message for v in verdicts if v.message]
        text = f"All {total} case{'s' if total > 1 else ''} passed."
        if notes:
            text += " " + notes[0]
        attachments = {name: data for v in verdicts for name, data in v.attachments.items()}
        return CheckResult(check.label, check.kind, "passed", points, points, text, check.hidden, passed, total,
                           attachments)
    attachments = {name: data for v in verdicts for name, data in v.attachments.items()}
    first = next(v for v in verdicts if not v.passed)
    lines = [f"{total - passed} of {total} cases failed. First failing case: {first.label}", first.message]
    if mistake is not None:
        lines.insert(0, mistake.feedback.strip())
    key = failure_key(first)
    if key == "gradient" and values == "right":
        lines.append(GRADIENT_WITH_RIGHT_VALUES)
    elif key == "gradient" and values == "wrong":
        lines.append(GRADIENT_WITH_WRONG_VALUES)
        key = "values"
    hint = hint_for(exercise, check, key)
    if hint:
        lines.append(f"Hint: {hint.strip()}")
    status: Status = "error" if first.hint_key == "error" and passed == 0 else "failed"
    return CheckResult(check.label, check.kind, status, 0.0, points, "\n".join(lines), check.hidden, passed, total,
                       attachments, mistake.id if mistake is not None else None)


#: Begins the note a check's feedback may end with: something to know that cost no points (scoring.with_note).
NOTE_MARK = "\nNote: "


def with_note(check: CheckResult, note: str) -> CheckResult:
    """The check with `note` after its feedback: shown even where the check passed (report.terminal)."""
    return dataclasses.replace(check, feedback=f"{check.feedback}{NOTE_MARK}{note}")


def note_of(check: CheckResult) -> str | None:
    """The note a check's feedback ends with, if any."""
    _, mark, note = check.feedback.partition(NOTE_MARK)
    return note if mark else None


def whole_exercise(exercise: Exercise, checks: list[CheckBase], status: Status, message: str) -> ExerciseResult:
    """Every check of the exercise gets the same outcome (not submitted, import error, timeout …)."""
    return ExerciseResult(exercise.id, exercise.title, tuple(
        CheckResult(c.label, c.kind, status, 0.0, float(c.points), message, c.hidden) for c in checks))


def result_from_json(data: dict[str, Any]) -> SubmissionResult:
    """Read back a results.json (for reports and merging shards)."""
    exercises = tuple(
        ExerciseResult(e["id"], e.get("title", e["id"]), tuple(
            CheckResult(c["name"], c.get("kind", c["name"]), c["status"], float(c["score"]), float(c["max_score"]),
                        c.get("feedback", ""), bool(c.get("hidden", False)),
                        mistake=c["mistake"] if isinstance(c.get("mistake"), str) else None)
            for c in e["checks"]))
        for e in data["exercises"])
    details = dict(data.get("details", {}))
    if isinstance(data.get("error"), str):  # a submission that could not be graded says why, on its way back too
        details["error"] = data["error"]
    return SubmissionResult(data["submission"], exercises, details)


def as_dict(result: SubmissionResult) -> dict[str, Any]:
    return asdict(result)
