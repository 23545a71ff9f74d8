"""The teacher's reference solution, cut into the pieces a notebook needs.

`solutions/<module>.py` scores full marks (docs/explanation/architecture.md). For each exercise function the builder
needs its def line (shown to students) and its body (the solution, hidden from them). The file's
imports go first in the notebook; its other top-level code (helpers, constants) is part of the
solution, so it is moved into the body of each function that uses it, where nbgrader hides it.
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ...python_source import parse as parse_python


class SolutionSourceError(Exception):
    """A solution file the builder cannot use; the message names the file for a teacher."""


@dataclass(frozen=True)
class Helper:
    """Top-level code of the solution file that is neither an import nor an exercise function."""

    defines: frozenset[str]
    source: str
    uses: frozenset[str]


@dataclass(frozen=True)
class FunctionSource:
    name: str
    head: str         # decorators and def line(s), without the docstring: what the student sees
    body: str         # the statements after the docstring: the solution
    indent: str       # the body's indentation
    uses: frozenset[str]  # every name the function reads, to order exercises and find its helpers


@dataclass(frozen=True)
class ModuleSource:
    path: Path
    imports: str                       # import statements at the top level
    helpers: tuple[Helper, ...]        # in file order
    functions: dict[str, FunctionSource]

    def solution_body(self, name: str) -> str:
        """The function's body, preceded by the helpers it needs (transitively), nested in it."""
        function = self.functions[name]
        needed = self._helpers_for(function.uses)
        nested = [textwrap.indent(h.source, function.indent) for h in needed]
        return "\n".join(nested + [function.body])

    def _helpers_for(self, uses: frozenset[str]) -> list[Helper]:
        wanted = set(uses)
        chosen: list[Helper] = []
        changed = True
        while changed:
            changed = False
            for helper in self.helpers:
                if helper not in chosen and helper.defines & wanted:
                    chosen.append(helper)
                    wanted |= helper.uses
                    changed = True
        return [h for h in self.helpers if h in chosen]

    @property
    def helper_source(self) -> str:
        return "\n\n".join(h.source for h in self.helpers)


def read_module_source(path: Path, exercise_names: set[str]) -> ModuleSource:
    """Split `path` into imports, helpers and the exercise functions named in `exercise_names`."""
    text = Path(path).read_text()
    try:
        tree = parse_python(text, filename=str(path))
    except SyntaxError as exc:
        raise SolutionSourceError(f"{path}:{exc.lineno}: the reference solution does not parse: {exc.msg}") from None
    lines = text.splitlines()
    imports: list[str] = []
    helpers: list[Helper] = []
    functions: dict[str, FunctionSource] = {}
    for index, node in enumerate(tree.body):
        segment = "\n".join(lines[_first_line(node) - 1:node.end_lineno])
        if index == 0 and _is_docstring(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in exercise_names:
            functions[node.name] = _split_function(node, lines)
        else:
            helpers.append(Helper(_defined(node), segment, _names(node)))
    return ModuleSource(Path(path), "\n".join(imports), tuple(helpers), functions)


def _split_function(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> FunctionSource:
    statements = node.body[1:] if _is_docstring(node.body[0]) else node.body
    head = "\n".join(lines[_first_line(node) - 1:node.body[0].lineno - 1]).rstrip()
    if not statements:
        return FunctionSource(node.name, head, "", "    ", _names(node))
    body = "\n".join(lines[_first_line(statements[0]) - 1:node.end_lineno])
    first = lines[_first_line(statements[0]) - 1]
    return FunctionSource(node.name, head, body, first[:len(first) - len(first.lstrip())], _names(node))


def _defined(node: ast.stmt) -> frozenset[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return frozenset({node.name})
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))


def _names(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
