"""Questions: every accepted form of an answer is right, near misses are wrong, feedback reveals only
what the YAML allows, shuffled options map back, and answers come from answers.py or a notebook."""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import check_of, scores
from grader.kinds.question import judge as question
from grader.kinds.question.judge.answer_forms import option_order
from grader.checks.base import Context
from grader.intake import Submission
from grader.run import grade_submission
from grader.spec import SpecErrors, load_exercise
from grader.spec.checks import LETTERS
from grader.spec.models import Exercise

QUESTIONS = ["hidden_activation_order", "relu_over_sigmoid", "binary_loss", "sigmoid_derivative_range",
             "sigmoid_stack_factor", "bias_init"]


# --- judging answers (grader side, from the plain data the child returns) -------------------------

@dataclass(frozen=True)
class GradingContext(Context):
    """A Context of the teacher's grading run (`hidden` as build_plan would set it)."""

    hidden: bool = True


def make_question(**fields) -> Exercise:
    check = {"kind": "question", "points": 1, **fields}
    return Exercise.model_validate({"id": "q", "title": "Q", "statement": "?", "checks": [check]})


def judge(course, exercise: Exercise, answer, student: str | None = None, grading: bool = True):
    ctx = GradingContext(course=course, hidden=grading)
    prepared = question.prepare(ctx, exercise, exercise.checks[0])
    result = {"answer": answer, "student": student}
    return question.judge_case(prepared, prepared.cases[0], result)


CHOICE = dict(options=["zero", "one", "two", "three"], answer="C")
SEVERAL = dict(options=["zero", "one", "two", "three"], answer=["A", "C"])
NUMBER = dict(answer=0.25, tolerance={"abs": 1.0e-3})
TEXT = dict(answer="BCELoss", accept=["binary cross entropy", "BCE"])


@pytest.mark.parametrize("answer", ["C", "c", " C ", "(C)", "c)", "C.", ["C"], ("C",)])
def test_single_choice_accepts_every_letter_form(course, answer):
    assert judge(course, make_question(**CHOICE), list(answer) if isinstance(answer, tuple) else answer).passed


@pytest.mark.parametrize("answer", ["B", "D", "CD", ["B", "C"], "E", "two", 2, "", True, {"object": "dict"}])
def test_single_choice_rejects_near_misses(course, answer):
    assert not judge(course, make_question(**CHOICE), answer).passed


@pytest.mark.parametrize("answer", [["A", "C"], ["c", "a"], "A, C", "C,A", "AC", "a and c", "A C", "A;C"])
def test_several_right_options_accept_every_form_of_the_set(course, answer):
    assert judge(course, make_question(**SEVERAL), answer).passed


@pytest.mark.parametrize("answer", [["A"], ["C"], ["A", "B", "C"], "ABC", "A, D", "A"])
def test_several_right_options_need_exactly_the_right_set(course, answer):
    verdict = judge(course, make_question(**SEVERAL), answer)
    assert not verdict.passed


@pytest.mark.parametrize("answer", [0.25, 0.2505, 0.2495, "0.25", " 2.5e-1 ", "1/4", "+0.25", 1 / 4])
def test_number_accepts_every_form_within_the_tolerance(course, answer):
    assert judge(course, make_question(**NUMBER), answer).passed


@pytest.mark.parametrize("answer", [0.2511, 0.2489, 0.5, -0.25, "\u22120.25", "0.25%", "a quarter", True, float("nan"), float("inf"),
                                    [0.25], "1/0"])
def test_number_rejects_near_misses(course, answer):
    assert not judge(course, make_question(**NUMBER), answer).passed


def test_number_tolerance_can_be_relative(course):
    exercise = make_question(answer=9.5367431640625e-07, tolerance={"rel": 0.01})
    assert judge(course, exercise, 9.5e-7).passed and judge(course, exercise, 0.25 ** 10).passed
    assert not judge(course, exercise, 9.4e-7).passed and not judge(course, exercise, 1e-6).passed


@pytest.mark.parametrize("answer", ["BCELoss", "bceloss", "BCE Loss", " nn.BCELoss ", "torch.nn.BCELoss()",
                                    "binary cross entropy", "Binary Cross-Entropy", "binary_cross_entropy",
                                    "BINARY  CROSS\tENTROPY", "F.binary_cross_entropy", "bce", "'BCELoss'",
                                    {"object": "type", "name": "BCELoss"}])
def test_text_accepts_case_spacing_prefixes_and_synonyms(course, answer):
    assert judge(course, make_question(**TEXT), answer).passed


@pytest.mark.parametrize("answer", ["BCEWithLogitsLoss", "CrossEntropyLoss", "BCELos", "binary cross", "MSELoss",
                                    "cross entropy", "B C E Loss with logits", "", 0.25, None, ["BCELoss"]])
def test_text_rejects_near_misses(course, answer):
    assert not judge(course, make_question(**TEXT), answer).passed


# --- what feedback reveals ---------------------------------------------------------------------

EXPLAINED = dict(options=["sigmoid", "tanh", "ReLU"], answer="B", explanation="tanh maps onto (-1, 1).")


def test_self_check_says_only_whether_the_answer_is_well_formed(course):
    exercise = make_question(**EXPLAINED)
    wrong, right = judge(course, exercise, "A", grading=False), judge(course, exercise, "B", grading=False)
    assert wrong.passed and right.passed and wrong.message == right.message
    assert "Well-formed: one of the letters A–C" in wrong.message
    assert "tanh maps" not in wrong.message and "The right answer:" not in wrong.message
    malformed = judge(course, exercise, "E", grading=False)
    assert not malformed.passed and "The right answer:" not in malformed.message


def test_after_grading_answer_is_shown_when_graded(course):
    exercise = make_question(**EXPLAINED)
    graded = judge(course, exercise, "A", grading=True).message
    assert 'The right answer: B ("tanh")' in graded and "Why: tanh maps onto (-1, 1)." in graded


def test_reveal_never_hides_the_answer_even_when_graded(course):
    message = judge(course, make_question(reveal="never", **EXPLAINED), "A", grading=True).message
    assert "The right answer" not in message and "tanh maps" not in message


def test_reveal_always_still_reveals_nothing_in_self_check(course):
    message = judge(course, make_question(reveal="always", **EXPLAINED), "ABC", grading=False).message
    assert "The right answer:" not in message and "Why:" not in message


def test_a_right_answer_gets_the_explanation_whatever_reveal_says(course):
    verdict = judge(course, make_question(reveal="never", **EXPLAINED), "B")
    assert verdict.passed and verdict.message == "Right. Why: tanh maps onto (-1, 1)."


def test_text_answer_revealed_with_its_other_accepted_forms(course):
    message = judge(course, make_question(reveal="always", **TEXT), "MSELoss").message
    assert 'The right answer: "BCELoss" (also accepted: binary cross entropy, BCE)' in message


def test_a_hidden_question_counts_as_graded_by_the_teacher(course):
    exercise = make_question(hidden=True, **EXPLAINED)
    assert "The right answer: B" in judge(course, exercise, "A", grading=False).message


# --- shuffled options --------------------------------------------------------------------------

def right_letter(course, exercise_id: str, student: str) -> str:
    check = course.exercise(exercise_id).checks[0]
    order = option_order(len(check.options), course.seed, exercise_id, student)
    return LETTERS[order.index(LETTERS.index(check.answer))]


def test_shuffled_options_are_mapped_back_per_student(course):
    letters = {s: right_letter(course, "hidden_activation_order", s) for s in ("alice", "bob", "carol", "dan")}
    assert len(set(letters.values())) > 1, "the order must differ between students"
    exercise = course.exercise("hidden_activation_order")
    for student, letter in letters.items():
        assert judge(course, exercise, letter, student=student).passed
        others = [s for s, other in letters.items() if other != letter]
        for other in others:
            assert not judge(course, exercise, letter, student=other).passed


def test_shuffled_order_is_the_same_on_every_run(course):
    assert [option_order(5, course.seed, "q", "alice") for _ in range(3)] == [option_order(5, course.seed, "q", "alice")] * 3


def test_feedback_lists_the_options_in_the_students_own_order(course):
    exercise = course.exercise("hidden_activation_order")
    options = exercise.checks[0].options
    order = option_order(len(options), course.seed, exercise.id, "bob")
    wrong = next(letter for letter in "ABCD" if letter != right_letter(course, exercise.id, "bob"))
    message = judge(course, exercise, wrong, student="bob").message
    assert "Your options (in your own order)" in message
    for index, shown in enumerate(order):
        assert f"  {LETTERS[index]}) {options[shown]}" in message


def test_shuffled_question_without_student_asks_for_one(course):
    verdict = judge(course, course.exercise("hidden_activation_order"), "A", student="")
    assert not verdict.passed and 'Set STUDENT = "<your student id>"' in verdict.message


# --- through the sandbox: answers.py and notebooks -----------------------------------------------

SOLUTION_ANSWERS = (Path(__file__).resolve().parents[1] / "solutions" / "answers.py").read_text()


def test_reference_answers_score_full_marks(grade_files, course):
    result = grade_files({"answers.py": SOLUTION_ANSWERS}, exercises=[e.id for e in course.exercises
                                                                       if e.module == "answers"])
    assert result.score == result.max_score > 0


def test_answers_written_as_python_objects_are_read(grade_files, course):
    factor = 0.25 ** 10
    result = grade_files({"answers.py": f"""
        import torch
        import torch.nn as nn
        STUDENT = "teacher"
        ANSWERS = {{
            "binary_loss": nn.BCELoss,
            "relu_over_sigmoid": ("E", "D", "B"),
            "sigmoid_stack_factor": torch.tensor({factor!r}, dtype=torch.float64),
            "sigmoid_derivative_range": {{"B"}},
            "hidden_activation_order": "{right_letter(course, 'hidden_activation_order', 'teacher')}",
        }}
    """}, exercises=["binary_loss", "relu_over_sigmoid", "sigmoid_stack_factor", "sigmoid_derivative_range",
                     "hidden_activation_order"])
    assert result.score == result.max_score, [c.feedback for e in result.exercises for c in e.checks]


def test_missing_or_malformed_answers_say_what_to_write(grade_files):
    result = grade_files({"answers.py": 'ANSWERS = {"binary_los": "BCELoss"}\n'}, exercises=["binary_loss"])
    assert 'ANSWERS has no entry "binary_loss" (is "binary_los" meant to be "binary_loss"?)' in \
        check_of(result, "binary_loss", "question").feedback
    result = grade_files({"answers.py": "ANSWERS = [1, 2]\n"}, exercises=["binary_loss"], name="s2")
    assert "ANSWERS is a list, not a dict" in check_of(result, "binary_loss", "question").feedback
    result = grade_files({"answers.py": "X = 1\n"}, exercises=["binary_loss"], name="s3")
    assert "answers.py defines no ANSWERS" in check_of(result, "binary_loss", "question").feedback
    result = grade_files({"experiments.py": "\n"}, exercises=["binary_loss"], name="s4")
    assert "Not submitted: there is no answers.py" in check_of(result, "binary_loss", "question").feedback


def test_public_self_check_says_nothing_of_rightness(grade_files):
    result = grade_files({"answers.py": 'ANSWERS = {"binary_loss": "BCEWithLogitsLoss"}\n'},
                         exercises=["binary_loss"], hidden=False)
    feedback = check_of(result, "binary_loss", "question").feedback
    assert "Well-formed" in feedback and "not right" not in feedback and "BCELoss\"" not in feedback


def write_notebook(path: Path, cells: list[str]) -> Path:
    path.write_text(json.dumps({"cells": [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
         "source": textwrap.dedent(text)} for i, text in enumerate(cells)],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_answers_cell_of_a_notebook_is_graded(plans, server, course, tmp_path):
    letter = right_letter(course, "hidden_activation_order", "nina")
    notebook = write_notebook(tmp_path / "nina.ipynb", [
        "import torch\nSTUDENT = 'nina'\n",
        f"ANSWERS = {{'hidden_activation_order': '{letter}', 'sigmoid_stack_factor': 0.25 ** 10,\n"
        f"           'binary_loss': 'binary cross-entropy'}}\nprint(ANSWERS)\n",
    ])
    plan = plans(("hidden_activation_order", "sigmoid_stack_factor", "binary_loss"), True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = grade_submission(plan, Submission.from_path(notebook, modules=course.modules), server, scratch)
    assert result.score == result.max_score, [c.feedback for e in result.exercises for c in e.checks]


# --- the YAML format ---------------------------------------------------------------------------

@pytest.mark.parametrize("body, problem", [
    ("options: [a, b]\n    answer: C", "answer: with 2 options, the answer is a letter A–B"),
    ("answer: sigmoid\n    shuffle: true", "shuffle applies to questions with options only"),
    ("options: [a, b]\n    answer: A\n    tolerance: {abs: 0.1}", "tolerance applies to number answers only"),
    ("answer: 0.5\n    accept: [half]", "accept (other accepted forms) applies to text answers only"),
    ("options: [a, b]\n    answer: A\n    shuffle: true\n    hidden: true", "a shuffled question must be public"),
    ("options: [a, a]\n    answer: A", "two options have the same text"),
    ("answer: x\n    reveal: later", "reveal"),
])
def test_question_spec_errors_name_the_file_and_line(tmp_path, course, body, problem):
    file = tmp_path / "q.yaml"
    file.write_text(f"id: q\ntitle: Q\nstatement: '?'\nchecks:\n  - kind: question\n    points: 1\n    {body}\n")
    with pytest.raises(SpecErrors) as info:
        load_exercise(file, course.root, course.modules)
    text = str(info.value)
    assert problem in text and str(file) in text


def test_a_question_has_no_function_and_one_check(tmp_path, course):
    file = tmp_path / "q.yaml"
    file.write_text("id: q\ntitle: Q\nstatement: '?'\nsignature: 'q()'\nchecks:\n"
                    "  - {kind: question, points: 1, answer: x}\n")
    with pytest.raises(SpecErrors, match="leave out signature"):
        load_exercise(file, course.root, course.modules)
    file.write_text("id: q\ntitle: Q\nstatement: '?'\nchecks:\n  - {kind: question, points: 1, answer: x}\n"
                    "  - {kind: question, points: 1, answer: y}\n")
    with pytest.raises(SpecErrors, match="exactly one check, of kind question"):
        load_exercise(file, course.root, course.modules)


def test_an_unanswered_question_shows_itself_but_not_its_answer_before_grading(course):
    exercise = make_question(reveal="always", **EXPLAINED)
    checking = judge(course, exercise, None, grading=False).message
    assert "Not answered yet" in checking and "The question: ?" in checking and "The right answer:" not in checking
    assert "tanh maps" not in checking
    assert 'The right answer: B ("tanh")' in judge(course, exercise, None, grading=True).message
