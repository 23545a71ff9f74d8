"""The teacher's reference solution, cut into the pieces a notebook needs.

`solutions/<module>.py` scores full marks (DESIGN.md). For each exercise the builder needs the
function's def line and docstring (shown to students) and its body (the solution, hidden from
them); everything else at the top of the file — imports, helpers, constants — goes first.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


class SolutionSourceError(Exception):
    """A solution file the builder cannot use; the message names the file for a teacher."""


@dataclass(frozen=True)
class FunctionSource:
    name: str
    head: str         # decorators and def line(s), without the docstring: what the student sees
    body: str         # the statements after the docstring: the solution
    indent: str       # the body's indentation
    names_used: frozenset[str]  # every name the function reads, to order exercises


@dataclass(frozen=True)
class ModuleSource:
    path: Path
    imports: str                       # import statements at the top level
    helpers: str                       # other top-level code that is no exercise
    functions: dict[str, FunctionSource]


def read_module_source(path: Path, exercise_names: set[str]) -> ModuleSource:
    """Split `path` into imports, helpers and the exercise functions named in `exercise_names`."""
    text = Path(path).read_text()
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise SolutionSourceError(f"{path}:{exc.lineno}: the reference solution does not parse: {exc.msg}") from None
    lines = text.splitlines()
    imports: list[str] = []
    helpers: list[str] = []
    functions: dict[str, FunctionSource] = {}
    for index, node in enumerate(tree.body):
        start = _first_line(node)
        segment = "\n".join(lines[start - 1:node.end_lineno])
        if index == 0 and _is_docstring(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in exercise_names:
            functions[node.name] = _split_function(node, lines)
        else:
            helpers.append(segment)
    return ModuleSource(Path(path), "\n".join(imports), "\n\n\n".join(helpers), functions)


def _split_function(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> FunctionSource:
    statements = node.body[1:] if _is_docstring(node.body[0]) and len(node.body) > 1 else node.body
    if _is_docstring(node.body[0]) and len(node.body) == 1:
        statements = []
    body_start = _first_line(statements[0]) if statements else node.end_lineno + 1
    head = "\n".join(lines[_first_line(node) - 1:node.body[0].lineno - 1]).rstrip()
    body = "\n".join(lines[body_start - 1:node.end_lineno]) if statements else ""
    first = lines[body_start - 1] if statements else lines[node.body[0].lineno - 1]
    indent = first[:len(first) - len(first.lstrip())]
    used = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    return FunctionSource(node.name, head, body, indent, used)


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
