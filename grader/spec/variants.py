"""The schema of an exercise's catalogue: the mistakes students make and right work in other styles.

`mistakes:` are named wrong implementations, each with the words a student who made it should
read; `accepted:` are right implementations written differently, which must get full marks.
Each is a few lines of Python that define the exercise's function (`code:`), or a function in a
teacher-only file (`file: solutions/audit/plots.py:activation_panels_swapped`), renamed to the
exercise's function; a question's entries are answers (`answer:`). `torchgrade audit` grades every
entry with the rest of the module taken from the course's solutions; the student bundle never holds
any of it.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Callable

from pydantic import Field, model_validator

from .checks import Strict
from ..python_source import parse as parse_python

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Variant(Strict):
    """One implementation of the exercise's function, written inline or named in a teacher-only file."""

    id: str = Field(pattern=IDENT)
    code: str | None = Field(default=None, min_length=1,
                             description="Python that defines the exercise's function (imports allowed)")
    file: str | None = Field(default=None, pattern=r"^[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*$",
                             description="a teacher-only file and a function in it: solutions/audit/plots.py:name")
    answer: Any = Field(default=None, description="a question's answer, as a student would write it in ANSWERS")

    @model_validator(mode="after")
    def _one_source(self) -> "Variant":
        given = [name for name in ("code", "file", "answer") if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of code (a few lines defining the function), file (path.py:name) "
                             "or, for a question, answer")
        return self

    @property
    def is_answer(self) -> bool:
        return "answer" in self.model_fields_set


class Mistake(Variant):
    """A wrong implementation students write; it must lose points, and its feedback names it."""

    feedback: str = Field(min_length=1, description="what a student whose outputs match it reads first")


class Accepted(Variant):
    """A right implementation in another style; it must get full marks."""

    note: str | None = Field(default=None, description="why this style is right (for teachers)")


def variant_errors(variant: Variant, function: str, course_root: Path,
                   err: Callable[[tuple, str], None], base: tuple, question: bool = False) -> None:
    """What the schema cannot see: a question's entries are answers and a function's are code; the code
    parses and defines the function; the file and name exist."""
    if question != variant.is_answer:
        err(base, "a question's entries give an answer (answer: …)" if question else
            "answer is for questions; give code or file that defines the function")
        return
    if variant.is_answer:
        return
    if variant.code is not None:
        try:
            tree = parse_python(variant.code)
        except SyntaxError as exc:
            err(base + ("code",), f"is not valid Python (line {exc.lineno}: {exc.msg})")
            return
        if function not in _top_level_names(tree):
            err(base + ("code",), f"must define the exercise's function '{function}' (def {function}(...): ...)")
        return
    assert variant.file is not None
    file_part, _, name = variant.file.partition(":")
    path = Path(course_root) / file_part
    if not path.is_file():
        err(base + ("file",), f"'{file_part}' does not exist next to course.yaml")
        return
    try:
        tree = parse_python(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError) as exc:
        err(base + ("file",), f"'{file_part}' is not valid Python ({exc})")
        return
    if name not in _top_level_names(tree):
        err(base + ("file",), f"'{file_part}' defines no '{name}'")


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def variant_source(variant: Variant, function: str, base_source: str, course_root: Path, key: str = "") -> str:
    """The module the audit grades: the solutions module, then the variant, which replaces the function
    (for a question's answer: its entry `key` of ANSWERS)."""
    if variant.is_answer:
        return (f"{base_source.rstrip()}\n\n\n# --- the catalogued answer replaces ANSWERS[{key!r}] ---\n"
                f"ANSWERS = dict(ANSWERS)\nANSWERS[{key!r}] = {variant.answer!r}\n")
    if variant.code is not None:
        body = variant.code
    else:
        assert variant.file is not None
        file_part, _, name = variant.file.partition(":")
        body = (Path(course_root) / file_part).read_text(encoding="utf-8")
        if name != function:
            body += f"\n\n{function} = {name}\n"
    return f"{base_source.rstrip()}\n\n\n# --- the catalogued variant replaces {function} from here on ---\n{body}\n"
