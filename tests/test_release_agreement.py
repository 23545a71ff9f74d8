"""Scores agree: pytest in the bundle, `torchgrade check` in the bundle and the teacher's
`torchgrade grade --public-only` give every public check the same verdict; a notebook of the same
functions scores as the modules; the example solution, filled into the starters, passes pytest.

The teacher grades the whole course; pytest and check, to stay fast, grade one exercise per check
kind, and one more per kind where the bundle reads expected values from its file (teacher code,
answers): every path from the course to a verdict is crossed."""
from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.release.public_yaml import needs_expected

pytest_plugins = ["pytester"]
STUDENTS = ("alice", "bob")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


@pytest.fixture(scope="module")
def teacher(repo, course, tmp_path_factory) -> dict[str, dict]:
    """results.json of the teacher's public grading of alice, bob and alice's work as a notebook."""
    work = tmp_path_factory.mktemp("teacher")
    notebook = notebook_of(repo / "examples" / "alice", course.modules, work / "alice_notebook.ipynb")
    out = work / "out"
    result = CliRunner().invoke(main, ["grade", *(str(repo / "examples" / s) for s in STUDENTS), str(notebook),
                                       "--public-only", "--no-progress", "--out", str(out),
                                       "--course", str(repo / "course.yaml")])
    assert result.exit_code == 0, result.output
    return {d.name: json.loads((d / "results.json").read_text()) for d in out.iterdir() if d.is_dir()}


def notebook_of(folder: Path, modules: tuple[str, ...], path: Path) -> Path:
    """The modules as one notebook, with what notebooks hold besides: magics, plots, a long training loop."""
    sources = [(folder / f"{m}.py").read_text(encoding="utf-8") for m in modules if (folder / f"{m}.py").is_file()]
    defined = [n.name for s in sources for n in ast.parse(s).body if isinstance(n, ast.FunctionDef)]
    assert len(defined) == len(set(defined)), "the modules must not define a name twice to share one notebook"
    cells = ["%matplotlib inline\n!pip install torch", *sources,
             "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()",
             "for epoch in range(10**12):\n    pass  # training: must not run when graded"]
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [], "source": c}
        for i, c in enumerate(cells)]}))
    return path


def failing_in(results: dict) -> set[tuple[str, str]]:
    return {(e["id"], c["name"]) for e in results["exercises"] for c in e["checks"]
            if c["status"] in ("failed", "error")}


def run_pytest(pytester: pytest.Pytester, bundle: Path, *args: str) -> tuple[set[tuple[str, str]], int]:
    """(the failing (exercise, check) pairs, pytest's exit code) of plain pytest in the bundle."""
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rf", *args)
    failing = set()
    for line in result.outlines:
        if line.startswith("FAILED course.yaml::"):
            exercise, check = line.split()[1].split("::")[1:3]
            failing.add((exercise, check.split("[")[0]))
    return failing, result.ret


def representative(course) -> list[str]:
    """The first exercise with each public check kind, with and without an expected file in the bundle."""
    chosen: dict[tuple[str, bool], str] = {}
    for exercise in course.exercises:
        for check in exercise.checks:
            if not check.hidden:
                chosen.setdefault((check.kind, needs_expected(exercise)), exercise.id)
    return sorted(set(chosen.values()))


@pytest.mark.parametrize("student", STUDENTS)
def test_pytest_check_and_grade_give_every_check_the_same_verdict(student, pytester, bundle, teacher, repo, course):
    work = repo / "examples" / student
    chosen = representative(course)
    graded = {(e, c) for e, c in failing_in(teacher[student]) if e in chosen}
    by_pytest, _ = run_pytest(pytester, bundle, f"--submission={work}", "-k", " or ".join(chosen))
    checked = CliRunner().invoke(main, ["check", str(work), "--course", str(bundle / "course.yaml"),
                                        *(f"-k{e}" for e in chosen)])
    by_check = set(re.findall(r"^✗ (\w+)::([\w-]+) ", checked.output, re.MULTILINE))
    assert {(e, c) for e, c in by_pytest if e in chosen} == by_check == graded
    table = dict(re.findall(r"^(\w+) +([\d.]+)/[\d.]+ ", checked.output, re.MULTILINE))
    assert {e: float(s) for e, s in table.items()} == {
        e["id"]: e["score"] for e in teacher[student]["exercises"] if e["id"] in chosen}
    if student == "bob":
        assert by_check  # bob's mistakes are found, so the agreement is not vacuous


def test_a_notebook_of_the_same_functions_scores_as_the_modules(teacher):
    modules, notebook = teacher["alice"], teacher["alice_notebook"]
    assert [(e["id"], c["name"], c["status"], c["score"]) for e in notebook["exercises"] for c in e["checks"]] == \
           [(e["id"], c["name"], c["status"], c["score"]) for e in modules["exercises"] for c in e["checks"]]


def test_the_example_solution_filled_into_the_starters_passes(pytester, bundle, repo, course):
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    for module in course.modules:
        shutil.copyfile(repo / "solutions" / f"{module}.py", pytester.path / f"{module}.py")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert "failed" not in result.parseoutcomes()
