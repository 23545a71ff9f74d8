"""Notebook cells with nbgrader's metadata, and the code of torchgrade's autograder test cells.

nbgrader (schema_version 3) reads `metadata.nbgrader` on each cell: `solution` cells have the
answer between `### BEGIN SOLUTION` / `### END SOLUTION`, `grade` cells carry `points`,
`locked` cells are restored from the source on autograding, and every such cell has a unique
`grade_id`. A test cell's score is the number it *returns* (its last expression, an
`execute_result`), between 0 and its points; an error, or anything written to stderr, scores 0
(nbgrader.utils.determine_grade).
"""
from __future__ import annotations

from typing import Any

#: The first line of every torchgrade test cell: how the kernel and the extractors know a test
#: cell from a student's code.
TEST_MARKER = "# torchgrade test:"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"


def nbgrader_metadata(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
                      points: float | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                            "solution": solution, "task": False}
    if grade:
        meta["points"] = float(points or 0.0)
    return {"nbgrader": meta}


def markdown_cell(text: str, grade_id: str | None = None) -> dict[str, Any]:
    """A markdown cell; read-only (locked) when it has a grade_id."""
    metadata = nbgrader_metadata(grade_id, locked=True) if grade_id else {}
    return {"cell_type": "markdown", "metadata": metadata, "source": text}


def code_cell(source: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": metadata or {}, "outputs": [],
            "source": source}


def solution_cell(grade_id: str, source: str) -> dict[str, Any]:
    return code_cell(source, nbgrader_metadata(grade_id, solution=True))


def test_cell(exercise_id: str, points: float, has_hidden: bool) -> dict[str, Any]:
    """The autograder test cell of one exercise: it grades the code the kernel has run so far."""
    return code_cell(test_cell_source(exercise_id, has_hidden),
                     nbgrader_metadata(test_grade_id(exercise_id), grade=True, locked=True, points=points))


def test_grade_id(exercise_id: str) -> str:
    return f"test_{exercise_id}"


def test_cell_source(exercise_id: str, has_hidden: bool) -> str:
    """The same source in the teacher's and the student's notebook: no hidden-test markers, whose removal
    from the student's copy would change the locked cell's checksum (nbgrader then warns of tampering
    for every such cell). Whether hidden checks run is the grading machine's setting (kernel.HIDDEN_ENV)."""
    then = " Your teacher's grading adds hidden checks." if has_hidden else ""
    return "\n".join([f"{TEST_MARKER} {exercise_id}. Grades the code this notebook has run so far; its result is "
                      f"your score.{then}",
                      "from grader.integrations.nbgrader.kernel import grade_in_kernel",
                      f"grade_in_kernel({exercise_id!r})"])


def solution_function_source(head: str, body: str, indent: str) -> str:
    """def line and docstring, then the body between the solution markers (indented like it)."""
    return f"{head}\n{indent}{BEGIN_SOLUTION}\n{body}\n{indent}{END_SOLUTION}"


def notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A v4.5 notebook with a Python 3 kernel; each cell gets an id (its grade_id where it has one)."""
    for index, cell in enumerate(cells):
        cell.setdefault("id", cell["metadata"].get("nbgrader", {}).get("grade_id") or f"cell-{index}")
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
