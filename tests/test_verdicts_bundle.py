"""The student bundle holds no answer of any question: no explanation or number answer in any file
(as bytes, .pt files included), no answer or accepted form in a question's file or among the values
stored in any .pt file; a question keeps only the form of its answer."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml



@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


def _questions(course):
    return [e for e in course.exercises if e.checks and e.checks[0].kind == "question"]


def test_no_file_of_the_bundle_holds_an_explanation_or_a_number_answer(bundle, course):
    everything = b"\n".join(p.read_bytes() for p in bundle.rglob("*") if p.is_file())
    for exercise in _questions(course):
        check = exercise.checks[0]
        if check.explanation:
            for line in check.explanation.strip().splitlines():
                assert line.strip().encode() not in everything, (exercise.id, line)
        if check.answer_type == "number":
            for form in {repr(check.answer), str(check.answer), f"{check.answer:g}"}:
                assert form.encode() not in everything, (exercise.id, form)


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value.casefold()}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def test_no_question_file_and_no_pt_file_holds_an_answer_or_an_accepted_form(bundle, course):
    stored = set().union(*(_strings(torch.load(p, weights_only=True)) for p in bundle.rglob("*.pt")))
    for exercise in _questions(course):
        check = exercise.checks[0]
        assert not (bundle / "expected" / f"{exercise.id}.pt").exists()
        own = next(bundle.rglob(f"{exercise.id}.yaml"))
        released = yaml.safe_load(own.read_text())["checks"][0]
        assert not {"answer", "accept", "tolerance", "explanation"} & set(released)
        assert released["form"] in {"option", "options", "number", "text"}
        if check.answer_type == "text":
            for form in [check.answer, *check.accept]:
                assert form.casefold() not in stored, (exercise.id, form)
                word = rf"(?<![\w.]){re.escape(form)}(?![\w])"
                assert not re.search(word, own.read_text(), re.IGNORECASE), (exercise.id, form)
