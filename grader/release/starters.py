"""Starter modules and a starter notebook, generated from the exercise YAML.

Each function the course asks for becomes a stub: its signature, its exercise's statement as the
docstring, and `raise NotImplementedError`. The notebook holds the same functions: one markdown
cell with the statement and one code cell per function, so either can be handed in. Questions
become an ANSWERS dict (release/answers.py) in their module and in the notebook's last cells.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any

from ..spec import Course, Exercise
from .answers import answers_help, answers_source, question_text, questions

NOTEBOOK = "notebook.ipynb"
IMPORTS = "import torch\n"


@dataclass(frozen=True)
class Function:
    """One function of the student contract and the exercises that grade it."""

    module: str
    name: str
    signature: str
    exercises: tuple[Exercise, ...]

    @property
    def statement(self) -> str:
        if len(self.exercises) == 1:
            return self.exercises[0].statement.strip()
        return "\n\n".join(f"{e.title}:\n\n{e.statement.strip()}" for e in self.exercises)

    @property
    def title(self) -> str:
        return " / ".join(e.title for e in self.exercises)


def functions(course: Course) -> list[Function]:
    """The course's functions in exercise order; exercises grading one function share it."""
    grouped: dict[tuple[str, str], list[Exercise]] = {}
    asked = {e.id for e in questions(course)}
    for exercise in course.exercises:
        if exercise.id not in asked:
            grouped.setdefault((exercise.module, exercise.function_name), []).append(exercise)
    return [Function(module, name, found[0].signature, tuple(found)) for (module, name), found in grouped.items()]


def stub(function: Function, docstring: bool = True) -> str:
    """`def sigmoid(x):` + the statement as docstring + `raise NotImplementedError(...)`."""
    lines = [f"def {function.signature}:"]
    if docstring:
        title = function.title if function.title[-1:] in ".?!" else f"{function.title}."
        lines.append(_docstring(f"{title}\n\n{function.statement}").rstrip("\n"))
    lines.append(f'    raise NotImplementedError("{function.name} is not written yet")')
    return "\n".join(lines) + "\n"


def starter_modules(course: Course) -> dict[str, str]:
    """{module name: source} for every module of the course."""
    by_module: dict[str, list[Function]] = {module: [] for module in course.modules}
    for function in functions(course):
        by_module.setdefault(function.module, []).append(function)
    asked: dict[str, list[Exercise]] = {}
    for exercise in questions(course):
        asked.setdefault(exercise.module, []).append(exercise)
    return {module: _module_source(course, module, found, asked.get(module, []))
            for module, found in {**by_module, **{m: by_module.get(m, []) for m in asked}}.items()}


def starter_notebook(course: Course) -> dict[str, Any]:
    """A notebook (nbformat 4.5, as JSON data): an introduction, the imports, then per function its
    statement in a markdown cell and its stub in a code cell."""
    cells = [_cell("markdown", "intro",
                   f"# {course.name}\n\n"
                   f"Write each function in its code cell, in place of `raise NotImplementedError`. Only imports "
                   f"and definitions are graded; code that trains or plots at the top level of a cell is left out, "
                   f"so it never slows grading down (see README.md).\n\n"
                   f"Check your work from a terminal in this folder: `pytest --submission {NOTEBOOK}` or "
                   f"`torchgrade check {NOTEBOOK}`."),
             _cell("code", "imports", IMPORTS.strip())]
    module = None
    for function in functions(course):
        if function.module != module:
            module = function.module
            cells.append(_cell("markdown", f"module-{module}", f"## {module}"))
        cells.append(_cell("markdown", f"{function.name}-statement", f"### {function.title}\n\n{function.statement}"))
        cells.append(_cell("code", f"{function.name}-code", stub(function, docstring=False).strip()))
    asked = questions(course)
    if asked:
        shuffled = any(getattr(e.checks[0], "shuffle", False) for e in asked)
        cells.append(_cell("markdown", "questions", f"## Questions\n\n{answers_help(shuffled)}"))
        for exercise in asked:
            cells.append(_cell("markdown", f"{exercise.id}-question", f"### {exercise.title}\n\n"
                                                                      f"{question_text(exercise)}"))
        cells.append(_cell("code", "answers", answers_source(course, asked).strip()))
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}}


def notebook_json(notebook: dict[str, Any]) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _cell(kind: str, cell_id: str, text: str) -> dict[str, Any]:
    lines = text.splitlines(keepends=True)
    cell: dict[str, Any] = {"cell_type": kind, "id": cell_id[:64], "metadata": {}, "source": lines}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _module_source(course: Course, module: str, found: list[Function], asked: list[Exercise]) -> str:
    if asked and not found:
        shuffled = any(getattr(e.checks[0], "shuffle", False) for e in asked)
        head = _docstring(f"{module}.py — {course.name}: your answers to the questions.\n\n"
                          + textwrap.fill(answers_help(shuffled), 96), indent="")
        return head + "\n" + answers_source(course, asked)
    names = textwrap.fill(", ".join(f.name for f in found) or "nothing yet", 96)
    head = _docstring(f"{module}.py — {course.name}.\n\n{names}.\n\n"
                      f"Write each function below in place of `raise NotImplementedError`; its docstring is\n"
                      f"the exercise. Check your work with `pytest` (or `torchgrade check`) in this folder.",
                      indent="")
    tail = f"\n\n{answers_source(course, asked)}" if asked else ""
    return head + "\n" + IMPORTS + "".join(f"\n\n{stub(f)}" for f in found) + tail


def _docstring(text: str, indent: str = "    ") -> str:
    """A triple-quoted docstring whose value is exactly `text` (backslashes and quotes escaped)."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.strip("\n").split("\n")
    body = "\n".join((indent + line) if line.strip() else "" for line in lines[1:])
    closing = f"\n{body}\n{indent}" if len(lines) > 1 else ""
    return f'{indent}"""{lines[0]}{closing}"""\n'
