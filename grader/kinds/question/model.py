"""The question kind as written in exercise YAML."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

from pydantic import Field, model_validator

from grader.spec.checks import LETTERS, CheckBase, Strict


class NumberTolerance(Strict):
    """|answer − expected| ≤ max(abs, rel × |expected|), as math.isclose."""

    abs: float = Field(default=0.0, ge=0)
    rel: float = Field(default=1e-9, ge=0)


class QuestionCheck(CheckBase):
    """A question answered in ANSWERS: choice (options), number (tolerance) or text (accepted forms)."""

    kind: Literal["question"]
    answered_in: ClassVar[str | None] = "answers"
    #: a bundle keeps only the answer's `form`, so a self-check can say whether an answer is well-formed
    secret_fields: ClassVar[tuple[str, ...]] = ("answer", "accept", "tolerance", "explanation")
    options: list[str] | None = Field(default=None, description="choice: the options, A, B, C … in this order")
    answer: Any = Field(default=None, description="choice: a letter or a list of letters; number: a number; text: the "
                                                  "canonical answer. Left out only in a student bundle, whose "
                                                  "`expected` file holds it (with accept, tolerance, explanation)")
    accept: list[str] = Field(default_factory=list, description="text: other accepted forms (synonyms)")
    tolerance: NumberTolerance | None = Field(default=None, description="number: how close counts as right")
    shuffle: bool = Field(default=False, description="choice: options in an order of each student's own")
    #: when feedback shows the expected answer and the explanation
    reveal: Literal["always", "after_grading", "never"] = "after_grading"
    #: why the answer is right; shown with it
    explanation: str | None = None
    form: Literal["option", "options", "number", "text"] | None = Field(
        default=None, description="what a well-formed answer is; a student bundle holds this instead of the answer "
                                  "(one option, a list of options, a number, a text)")

    @property
    def answer_type(self) -> str:
        if self.options is not None:
            return "choice"
        if self.answer is None and self.form is not None:
            return "number" if self.form == "number" else "text"
        return "number" if isinstance(self.answer, (int, float)) else "text"

    @property
    def several(self) -> bool:
        """A choice with several right options (a list of letters)."""
        return isinstance(self.answer, list) or (self.answer is None and self.form == "options")

    def public_fields(self) -> dict[str, Any]:
        return {"form": self.answer_form()}

    def answer_form(self) -> str:
        """What `form` says of this question's answer, read from the answer itself."""
        if self.answer_type == "choice":
            return "options" if self.several else "option"
        return self.answer_type

    @model_validator(mode="after")
    def _consistent(self) -> "QuestionCheck":
        if self.inputs is not None or self.cases or self.kwargs is not None or self.dtypes is not None \
                or self.devices != ["cpu"]:
            raise ValueError("a question takes no inputs, cases, kwargs, dtypes or devices")
        if self.answer is None:
            return self  # a student bundle: no answer, only its form (spec checks that it has one)
        if isinstance(self.answer, bool):
            raise ValueError("answer: give the right letter(s), number or text")
        kind = self.answer_type
        if kind != "choice" and self.shuffle:
            raise ValueError("shuffle applies to questions with options only")
        if kind != "text" and self.accept:
            raise ValueError("accept (other accepted forms) applies to text answers only")
        if kind != "number" and self.tolerance is not None:
            raise ValueError("tolerance applies to number answers only")
        if kind == "choice":
            _check_options(self.options or [], self.answer)
            if self.shuffle and self.hidden:
                raise ValueError("a shuffled question must be public (hidden: false): students see their own "
                                 "order of the options in `torchgrade check`")
        elif kind == "number":
            if self.answer != self.answer or self.answer in (float("inf"), float("-inf")):
                raise ValueError("answer: a number question needs a finite answer")
        elif not isinstance(self.answer, str) or not self.answer.strip():
            raise ValueError("answer: write the right letter(s) (with options), a number, or a text answer")
        return self

    def course_errors(self, exercise: Any, course_root: Path) -> Iterator[tuple[tuple, str]]:
        if self.answer is None and self.form is None:
            yield ("answer",), "answer: give the right letter(s), number or text"


def _check_options(options: list[str], answer: Any) -> None:
    if not 2 <= len(options) <= len(LETTERS):
        raise ValueError(f"options: give between 2 and {len(LETTERS)} options")
    if len(set(options)) != len(options):
        raise ValueError("options: two options have the same text")
    letters = answer if isinstance(answer, list) else [answer]
    valid = LETTERS[:len(options)]
    if not letters or not all(isinstance(a, str) and len(a) == 1 and a.upper() in valid for a in letters):
        raise ValueError(f"answer: with {len(options)} options, the answer is a letter {valid[0]}–{valid[-1]} "
                         f"(or a list of letters when several are right), in the order the options are written")
    if len({a.upper() for a in letters}) != len(letters):
        raise ValueError("answer: a letter appears twice")
