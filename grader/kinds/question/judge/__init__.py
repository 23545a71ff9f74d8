"""question: one entry of the learner's ANSWERS, judged here against the exercise YAML's answer.

The child only reads `ANSWERS[<exercise id>]` (and `STUDENT`) and returns plain data; reading and
matching happen here (answer_forms). What the feedback may say:

- in a student's `torchgrade check`, only whether the answer is well-formed (a letter among the
  options, a list of them where several are right, a number, a text): the answer, its accepted
  forms and its explanation are not there to judge with (they leave the student bundle entirely,
  and the teacher's course drops them from a self-check's plan), so a self-check cannot be used to
  try options until one is right;
- in the teacher's grading, whether the answer is right, and, for a choice, the options in the
  student's own order; the expected answer and the YAML's `explanation` where `reveal` allows it
  (`always` or `after_grading`, not `never`). A right answer always gets the explanation.

With `shuffle: true` each student sees the options in an order of their own, drawn from the course
seed, the question id and the `STUDENT` string of their answers.py; their letters are mapped back
to the YAML's order before they are compared.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from grader.cases import Case
from grader.checks.base import CaseVerdict, Context, Prepared, call_key, error_verdict, new_call
from grader.spec import Exercise
from grader.spec.checks import LETTERS, CheckBase

from ..model import NumberTolerance, QuestionCheck
from ..record import AnswerRecord
from .answer_forms import (Reading, describe, number_matches, option_order, read_letters, read_number, read_text,
                           text_matches)


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
    grading = grading_run(ctx, check)
    case = QuestionCase(exercise.id, {}, {}, "", "cpu", course_seed=ctx.course.seed, grading=grading)
    key = call_key(check, case)
    call = new_call(key, "answer", options={"module": exercise.module, "question": exercise.id})
    return Prepared(exercise, check if grading else without_answer(check), [case], [call])


def without_answer(check: CheckBase) -> CheckBase:
    """The question as a self-check sees it: its form, options and reveal rule, and nothing of its answer."""
    assert isinstance(check, QuestionCheck)
    cleared = {name: QuestionCheck.model_fields[name].get_default(call_default_factory=True)
               for name in QuestionCheck.secret_fields}
    return check.model_copy(update={**cleared, "form": check.form or check.answer_form()})


def judge_case(prepared: Prepared, case: Case, result: AnswerRecord) -> CaseVerdict:
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
    if not case.grading:
        return view.well_formed(result["answer"])
    if check.answer is None:
        return CaseVerdict(case.id, case.label, False,
                           "This copy of the course holds no answers (a student bundle): only your teacher's "
                           "grading says whether an answer is right.", "error")
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
        return self.check.answer is not None and (
            self.check.reveal == "always" or (self.check.reveal == "after_grading" and self.case.grading))

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

    def well_formed(self, answer: Any) -> CaseVerdict:
        """A self-check's verdict: whether the answer has the question's form, never whether it is right."""
        check = self.check
        if check.answer_type == "choice":
            reading = read_letters(answer, len(self.order))
            letters = LETTERS[:len(self.order)]
            if reading.problem is None and not check.several and len(reading.value) != 1:
                return self.wrong(f"You chose {' and '.join(sorted(reading.value))}, but this question asks for "
                                  f"one option.")
            what = (f"a list of letters among {letters[0]}–{letters[-1]}" if check.several
                    else f"one of the letters {letters[0]}–{letters[-1]}")
        elif check.answer_type == "number":
            reading, what = read_number(answer), "a number"
        else:
            reading, what = read_text(answer), "a text answer"
        if reading.problem is not None:
            return self.wrong(f"Your answer {reading.problem}.")
        return CaseVerdict(self.case.id, self.case.label, True,
                           f"Well-formed: {what}. Whether it is right is decided when your teacher grades.")

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
        elif self.check.reveal != "never" and not self.case.grading:
            lines.append("The right answer is shown with the graded results.")
        return CaseVerdict(self.case.id, self.case.label, False, "\n".join(lines))

    def options_text(self) -> str:
        options = self.check.options or []
        mine = " (in your own order)" if self.check.shuffle else ""
        several = self.check.several
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
