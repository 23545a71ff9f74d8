"""The catalogue in an exercise's YAML: validated like every other field, and never released to students."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from grader.release import write_bundle
from grader.release.public_yaml import public_exercise
from grader.spec import SpecErrors, load_course
from grader.spec.loader import load_yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

COURSE = "name: Tiny\nmodules: [activations]\nexercises: [exercises/*.yaml]\n"
EXERCISE = """\
id: relu
title: ReLU
module: activations
signature: "relu(x)"
reference: torch.relu
statement: |
  Implement it.
checks:
  - kind: values
    points: 1
    inputs:
      x: {shapes: [[3]], range: [-5, 5]}
"""


def course_with(tmp_path: Path, catalogue: str) -> Path:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "relu.yaml").write_text(EXERCISE + textwrap.dedent(catalogue))
    (tmp_path / "course.yaml").write_text(COURSE)
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "relu_variants.py").write_text("def relu_abs(x):\n    return x.abs()\n")
    return tmp_path / "course.yaml"


def problems(tmp_path: Path, catalogue: str) -> list[str]:
    try:
        load_course(course_with(tmp_path, catalogue))
    except SpecErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def test_a_catalogue_of_code_and_teacher_file_variants_is_valid(tmp_path):
    assert problems(tmp_path, """\
        mistakes:
          - id: abs
            feedback: Your values match |x|.
            file: audit/relu_variants.py:relu_abs
        accepted:
          - id: clamp
            code: |
              def relu(x):
                  return x.clamp(min=0)
        """) == []


@pytest.mark.parametrize("catalogue, field, words", [
    ("mistakes:\n  - id: abs\n    code: |\n      def relu(x):\n          return x.abs()\n",
     "mistakes[0].feedback", "required field is missing"),
    ("mistakes:\n  - id: abs\n    feedback: f\n    code: |\n      def other(x):\n          return x\n",
     "mistakes[0].code", "must define the exercise's function 'relu'"),
    ("accepted:\n  - id: a\n    code: |\n      def relu(x)\n          return x\n",
     "accepted[0].code", "is not valid Python (line 1"),
    ("accepted:\n  - id: a\n    file: audit/relu_variants.py:relu_clamp\n",
     "accepted[0].file", "defines no 'relu_clamp'"),
    ("accepted:\n  - id: a\n    file: audit/missing.py:relu\n",
     "accepted[0].file", "'audit/missing.py' does not exist"),
    ("accepted:\n  - id: a\n", "accepted[0]", "give exactly one of code"),
    ("accepted:\n  - id: a\n    file: audit/relu_variants.py:relu_abs\n    code: |\n      def relu(x): pass\n",
     "accepted[0]", "give exactly one of code"),
    ("accepted:\n  - id: a\n    file: audit/relu_variants.py:relu_abs\n"
     "mistakes:\n  - id: a\n    feedback: f\n    file: audit/relu_variants.py:relu_abs\n",
     "accepted[0].id", "'a' is already the id"),
    ("mistakes:\n  - id: a\n    feedbak: f\n    file: audit/relu_variants.py:relu_abs\n",
     "mistakes[0].feedbak", "did you mean 'feedback'"),
])
def test_a_broken_catalogue_entry_is_named_by_file_line_and_field(tmp_path, catalogue, field, words):
    found = problems(tmp_path, catalogue)
    assert any(f": {field}: " in p and words in p and "relu.yaml:" in p for p in found), found


QUESTION = ("id: q\ntitle: Q\nstatement: Which?\nchecks:\n  - kind: question\n    points: 1\n"
            "    answer: BCELoss\n    accept: [BCE]\n")


def question_problems(tmp_path: Path, catalogue: str) -> list[str]:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "q.yaml").write_text(QUESTION + catalogue)
    (tmp_path / "course.yaml").write_text("name: Q\nmodules: [answers]\nexercises: [exercises/*.yaml]\n")
    try:
        load_course(tmp_path / "course.yaml")
    except SpecErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def test_a_questions_catalogue_is_answers(tmp_path):
    assert question_problems(tmp_path, "mistakes:\n  - id: mse\n    feedback: f\n    answer: MSELoss\n"
                                       "accepted:\n  - id: spelled_out\n    answer: binary cross entropy\n") == []


def test_a_question_refuses_code_and_a_function_refuses_answers(tmp_path):
    (tmp_path / "q").mkdir()
    (tmp_path / "f").mkdir()
    found = question_problems(tmp_path / "q", "mistakes:\n  - id: b\n    feedback: f\n    code: |\n"
                                              "      def f(): pass\n")
    assert any("mistakes[0]: a question's entries give an answer" in p for p in found), found
    found = problems(tmp_path / "f", "accepted:\n  - id: a\n    answer: 3\n")
    assert any("accepted[0]: answer is for questions" in p for p in found), found


def test_the_public_copy_of_an_exercise_leaves_its_catalogue_out():
    course = load_course(REPO / "course.yaml")
    catalogued = [e for e in course.exercises if e.mistakes or e.accepted]
    assert catalogued
    for exercise in catalogued:
        file = course.exercise_files[exercise.id]
        public = public_exercise(load_yaml(file).data, exercise, file)
        assert "mistakes" not in public and "accepted" not in public


def test_the_bundle_holds_no_mistake_nor_accepted_variant(tmp_path):
    """Released from the audit test course: no catalogue's code, words or teacher-only file."""
    course_dir = tmp_path / "course"
    shutil.copytree(HERE / "audit_course", course_dir)
    course = load_course(course_dir / "course.yaml")
    bundle = write_bundle(course, tmp_path / "bundle")
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in bundle.files)
    assert not any("ops_mistakes" in str(p) or p.parent.name == "audit" for p in bundle.files)
    needles = ["mistakes:", "accepted:", "x.abs()", "Your values match", "clamp(min=0)", "square_as_double",
               "square_as_pow", "solutions:"]
    for exercise in course.exercises:
        for variant in (*exercise.mistakes, *exercise.accepted):
            needles.append(variant.id)
            needles.extend(line.strip() for line in (variant.code or "").splitlines() if "return" in line)
            needles.append(getattr(variant, "feedback", "") or variant.id)
            if variant.is_answer and variant.answer != exercise.checks[0].answer:
                needles.append(str(variant.answer))
    found = [n for n in needles if n in text]
    # 'abs' and 'pow' are ids short enough to occur in ordinary words; the code and feedback must not
    assert set(found) <= {"abs", "pow"}, found
