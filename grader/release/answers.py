"""The starter of a questions module (answers.py): STUDENT and an ANSWERS dict with every question.

Each question is a comment above its `None`: its title, the form of answer it wants, its
statement and, unless they are shuffled per student, its options. Generated from the teacher's
YAML at release; the right answers never appear.
"""
from __future__ import annotations

import textwrap

from ..spec import Course, Exercise
from ..spec.checks import LETTERS
from ..spec.models import QUESTION_TARGET


def questions(course: Course) -> list[Exercise]:
    return [e for e in course.exercises if e.function_name == QUESTION_TARGET]


def answer_form(exercise: Exercise) -> str:
    """"options (your own order), several right", "a number", "text"."""
    check = exercise.checks[0]
    if getattr(check, "options", None) is not None:
        form = "options"
        if getattr(check, "shuffle", False):
            form += " (your own order: see `torchgrade check`)"
        if isinstance(getattr(check, "answer", None), list):
            form += ", several right: a list of letters"
        return form
    return "a number" if isinstance(getattr(check, "answer", None), (int, float)) else "text"


def question_text(exercise: Exercise) -> str:
    """The statement and, where every student sees the same order, the options with their letters."""
    check = exercise.checks[0]
    lines = [exercise.statement.strip()]
    options = getattr(check, "options", None)
    if options and not getattr(check, "shuffle", False):
        lines += [""] + [f"{LETTERS[i]}) {option}" for i, option in enumerate(options)]
    return "\n".join(lines)


def answers_source(course: Course, found: list[Exercise]) -> str:
    """STUDENT (when a question shuffles its options) and ANSWERS, one commented entry per question."""
    shuffled = any(getattr(e.checks[0], "shuffle", False) for e in found)
    parts = []
    if shuffled:
        parts.append('STUDENT = ""  # your student id, as your teacher knows you: it sets your order of options\n')
    entries = []
    for exercise in found:
        comment = [f"{exercise.title} — {answer_form(exercise)}"] + question_text(exercise).splitlines()
        wrapped = [piece for line in comment for piece in (textwrap.wrap(line, 100) or [""])]
        entries.append("".join(f"    # {line}".rstrip() + "\n" for line in wrapped) + f'    "{exercise.id}": None,\n')
    parts.append("ANSWERS = {\n" + "\n".join(entries) + "}\n")
    return "\n".join(parts)


def answers_help(shuffled: bool) -> str:
    text = ('Answer each question by replacing its None: a letter for options ("B"), a list of letters where '
            'several are right (["A", "C"]), a number (0.25, 1/4), or a short text.')
    if shuffled:
        text += (" Some questions show their options in an order of your own: write your student id as STUDENT, "
                 "then run `torchgrade check` to see your options and the letter of each.")
    return text
