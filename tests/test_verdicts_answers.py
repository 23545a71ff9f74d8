"""Right answers in another form are accepted: answers built over a notebook's cells, and the
course's own names for a scheme."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from grader.notebook import notebook_modules


def _notebook(path: Path, cells: list[str]) -> Path:
    path.write_text(json.dumps({"cells": [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
         "source": textwrap.dedent(text)} for i, text in enumerate(cells)], "metadata": {}, "nbformat": 4,
        "nbformat_minor": 5}))
    return path


def test_answers_added_to_the_dict_in_later_cells_are_all_kept(tmp_path):
    path = _notebook(tmp_path / "hw.ipynb", [
        'STUDENT = "carol"\nANSWERS = {}',
        'ANSWERS["dead_relu"] = "B"',
        'import math\nANSWERS["sigmoid_stack_factor"] = 0.25 ** 10',
        'ANSWERS["binary_loss"] = "BCELoss"\nprint(ANSWERS)',
    ])
    source = notebook_modules(path, ["answers"])["answers"]
    names: dict = {}
    exec(compile(source, "answers.py", "exec"), names)
    assert names["ANSWERS"] == {"dead_relu": "B", "sigmoid_stack_factor": 0.25 ** 10, "binary_loss": "BCELoss"}


def test_answers_added_with_update_in_later_cells_are_kept(tmp_path):
    path = _notebook(tmp_path / "hw.ipynb", [
        'ANSWERS = {}',
        'ANSWERS.update({"dead_relu": "B"})',
        'ANSWERS.update(binary_loss="BCELoss")',
        'results.update({"never": "kept"})  # a name the notebook never defined: not kept',
    ])
    source = notebook_modules(path, ["answers"])["answers"]
    names: dict = {}
    exec(compile(source, "answers.py", "exec"), names)
    assert names["ANSWERS"] == {"dead_relu": "B", "binary_loss": "BCELoss"}


def test_the_courses_own_names_for_a_scheme_are_accepted():
    from grader.kinds.question.judge.answer_forms import text_matches
    xavier = ["Xavier", "Glorot", "Xavier Glorot", "xavier_normal_"]
    for answer in ("Xavier (Glorot)", "Xavier (Glorot) initialisation", "Xavier/Glorot", "xavier initialization"):
        assert text_matches(answer, xavier), answer
    assert text_matches("Kaiming (He)", ["Kaiming", "Kaiming He"])
    assert not text_matches("Kaiming (He)", xavier)
    assert not text_matches("initialisation", xavier)
