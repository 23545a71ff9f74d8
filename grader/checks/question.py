"""question: one entry of the learner's ANSWERS, judged here against the exercise YAML's answer.

The child only reads `ANSWERS[<exercise id>]` (and `STUDENT`) and returns plain data; reading and
matching happen here (answer_forms). What the feedback may say:

- whether the answer is right, and, for a choice, the options in the student's own order;
- the expected answer and the YAML's `explanation` where `reveal` allows it: `always`; or
  `after_grading` (the default) in the teacher's grading run only, never in a student's
  `torchgrade check`; or `never`. A right answer always gets the explanation.

With `shuffle: true` each student sees the options in an order of their own, drawn from the course
seed, the question id and the `STUDENT` string of their answers.py; their letters are mapped back
to the YAML's order before they are compared.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from ..cases import Case
from ..spec import Exercise
from ..spec.checks import LETTERS, CheckBase, NumberTolerance, QuestionCheck
from .answer_forms import (Reading, describe, number_matches, option_order, read_letters, read_number, read_text,
                           text_matches)
from .base import CaseVerdict, Context, Prepared, call_key, error_verdict
from .expected import expected_by_case


@dataclass(frozen=True)
class QuestionCase(Case):
    """The one case of a question: the learner's answer, with what judging it depends on."""

    course_seed: int = 0
    grading: bool = False  # the teacher's grading run (hidden checks included), not a self-check

    @property
    def label(self) -> str:
        return f'ANSWERS["{self.id}"]'


def grading_run(ctx: Context, check: CheckBase) -> bool:
    """True in the teacher's grading (`torchgrade grade`: the plan has hidden checks too, and a hidden
    check runs nowhere else), False in a student's `torchgrade check`. Reads `Context.hidden`."""
    return ctx.hidden or check.hidden


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    case = QuestionCase(exercise.id, {}, {}, "", "cpu", course_seed=ctx.course.seed, grading=grading_run(ctx, check))
    key = call_key(check, case)
    call = {"key": key, "probe": "answer", "arg_names": [], "args": [], "kwargs": {},
            "device": "cpu", "options": {"module": exercise.module, "question": exercise.id}}
    # The answer is what a question expects: a student bundle keeps it out of its YAML (expected file).
    answer = expected_by_case(ctx, exercise, check, [case], lambda _: answer_of(check), "the answer")
    return Prepared(exercise, with_answer(check, answer[key]), [case], [call], answer)


def answer_of(check: CheckBase) -> dict[str, Any]:
    """The fields of a question that give its answer away, as plain data."""
    tolerance = getattr(check, "tolerance", None)
    return {"answer": getattr(check, "answer", None), "accept": list(getattr(check, "accept", [])),
            "tolerance": tolerance.model_dump() if tolerance is not None else None,
            "explanation": getattr(check, "explanation", None)}


def with_answer(check: CheckBase, answer: dict[str, Any]) -> CheckBase:
    tolerance = answer.get("tolerance")
    return check.model_copy(update={**answer, "tolerance": NumberTolerance(**tolerance) if tolerance else None})


def judge_case(prepared: Prepared, case: Case, result: dict[str, Any]) -> CaseVerdict:
    check: QuestionCheck = prepared.check  # type: ignore[assignment]
    assert isinstance(case, QuestionCase)
    if "error" in result:
        return error_verdict(case, result)
    view = StudentView(check, case, result.get("student") or "")
    if check.shuffle and not view.student:
        return view.wrong('This question shows its options in an order of your own. Set STUDENT = "<your '
                          'student id>" in answers.py, next to ANSWERS; then `torchgrade check` lists your options.',
                          options=False)
    problem = _no_answer(case.id, result, prepared.exercise.module)
    if problem is not None:  # the question itself, and no answer given away before a first try
        asked = f"The question: {_one_line(prepared.exercise.statement)}"
        return view.wrong(f"{problem}\n{asked}", attempted=False)
    reading, right = view.judge(result["answer"])
    if reading.problem is not None:
        return view.wrong(f"Your answer {reading.problem}.")
    if not right:
        return view.wrong(view.not_right(reading.value, result["answer"]))
    return CaseVerdict(case.id, case.label, True, " ".join(filter(None, ["Right.", _explanation(check)])))


def _no_answer(question: str, result: dict[str, Any], module: str) -> str | None:
    example = f'ANSWERS = {{"{question}": ...}}'
    if result.get("no_answers"):
        return f"{module}.py defines no ANSWERS: write {example} at the top level of {module}.py."
    if "not_dict" in result:
        return f"ANSWERS is a {result['not_dict']}, not a dict: write {example}."
    if result.get("missing"):
        close = difflib.get_close_matches(question, result.get("keys", []), n=1)
        near = f' (is "{close[0]}" meant to be "{question}"?)' if close else ""
        return f'Not answered: ANSWERS has no entry "{question}"{near}.'
    if result.get("answer", None) is None:
        return f'Not answered yet: ANSWERS["{question}"] is None.'
    return None


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _explanation(check: QuestionCheck) -> str:
    return f"Why: {' '.join(check.explanation.split())}" if check.explanation else ""


class StudentView:
    """The question as this student sees it: their letters, and what feedback may reveal."""

    def __init__(self, check: QuestionCheck, case: QuestionCase, student: str):
        self.check = check
        self.case = case
        self.student = student
        count = len(check.options or [])
        self.order = (option_order(count, case.course_seed, case.id, student) if check.shuffle
                      else list(range(count)))

    @property
    def reveals(self) -> bool:
        return self.check.reveal == "always" or (self.check.reveal == "after_grading" and self.case.grading)

    def judge(self, answer: Any) -> tuple[Reading, bool]:
        check = self.check
        if check.answer_type == "choice":
            reading = read_letters(answer, len(self.order))
            if reading.problem is not None:
                return reading, False
            chosen = {self.order[LETTERS.index(letter)] for letter in reading.value}
            return reading, chosen == self._right_options()
        if check.answer_type == "number":
            reading = read_number(answer)
            tolerance = check.tolerance or NumberTolerance()
            return reading, reading.problem is None and number_matches(
                reading.value, float(check.answer), tolerance.rel, tolerance.abs)
        reading = read_text(answer)
        return reading, reading.problem is None and text_matches(reading.value, [check.answer, *check.accept])

    def _right_options(self) -> set[int]:
        letters = self.check.answer if isinstance(self.check.answer, list) else [self.check.answer]
        return {LETTERS.index(letter.upper()) for letter in letters}

    def not_right(self, value: Any, raw: Any) -> str:
        if self.check.answer_type != "choice":
            return f"Your answer {describe(raw)} is not right."
        several = isinstance(self.check.answer, list)
        chosen = " and ".join(sorted(value))
        if several:
            return f"You chose {chosen}: not the right set of options (every right one, and no other)."
        if len(value) > 1:
            return f"You chose {chosen}, but exactly one option is right."
        return f"You chose {chosen}: not the right option."

    def wrong(self, what: str, options: bool = True, attempted: bool = True) -> CaseVerdict:
        """A failed verdict; an unanswered question reveals its answer only in the teacher's grading."""
        lines = [what]
        if options and self.check.options:
            lines.append(self.options_text())
        if self.reveals and (attempted or self.case.grading):
            lines.append(f"The right answer: {self.expected_text()}.")
            if self.check.explanation:
                lines.append(_explanation(self.check))
        elif self.check.reveal == "after_grading":
            lines.append("The right answer is shown with the graded results.")
        return CaseVerdict(self.case.id, self.case.label, False, "\n".join(lines))

    def options_text(self) -> str:
        options = self.check.options or []
        mine = " (in your own order)" if self.check.shuffle else ""
        several = isinstance(self.check.answer, list)
        how = ('a list of letters, e.g. ["A", "C"]: every right option and no other' if several
               else 'one letter, e.g. "B"')
        rows = [f"  {LETTERS[i]}) {options[shown]}" for i, shown in enumerate(self.order)]
        return "\n".join([f"Your options{mine}; answer with {how}:", *rows])

    def expected_text(self) -> str:
        check = self.check
        if check.answer_type == "choice":
            mine = sorted(LETTERS[self.order.index(option)] for option in self._right_options())
            options = check.options or []
            return " and ".join(f'{letter} ("{options[self.order[LETTERS.index(letter)]]}")' for letter in mine)
        if check.answer_type == "number":
            tolerance = check.tolerance or NumberTolerance()
            slack = [f"±{tolerance.abs:g}"] if tolerance.abs else []
            slack += [f"±{tolerance.rel:g} relative"] if tolerance.rel >= 1e-6 else []
            return f"{check.answer:g}" + (f" ({', '.join(slack)})" if slack else "")
        also = f" (also accepted: {', '.join(check.accept)})" if check.accept else ""
        return f'"{check.answer}"{also}'
