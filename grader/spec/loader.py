"""Read YAML while remembering where every value came from.

Teachers make mistakes in YAML; the only useful error names the file, the line and the field.
PyYAML's node tree carries line marks, so we build plain Python data from it and keep a map
from each value's path (("checks", 0, "points")) to its line.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class SpecError(Exception):
    """One teacher-facing problem: `file:line: field: message`."""

    def __init__(self, file: Path | str, line: int | None, field_path: str, message: str):
        self.file = str(file)
        self.line = line
        self.field_path = field_path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field_path}: {self.message}" if self.field_path else f"{where}: {self.message}"


@dataclass
class Located:
    """Plain data from a YAML file, with the line of every value by path."""

    file: Path
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, path: tuple) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(self, path: tuple, message: str) -> SpecError:
        return SpecError(self.file, self.line_of(path), format_path(path), message)


def format_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that also reads YAML 1.2 floats such as 1e4 and 1.0e-3 as numbers, not strings; libyaml's
    parser where PyYAML has it (a tenth of the pure-Python parser's time, the same nodes and lines)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _construct(node: yaml.Node, path: tuple, lines: dict[tuple, int], loader: yaml.SafeLoader, file: Path) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise SpecError(file, key_node.start_mark.line + 1, format_path(path + (key,)), "this key appears twice")
            result[key] = _construct(value_node, path + (key,), lines, loader, file)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), lines, loader, file) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(file: Path | str) -> Located:
    """Parse one YAML file; syntax errors become a SpecError with the line."""
    file = Path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(file, None, "", f"cannot read the file ({exc.strerror})") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError(file, 1, "", "the file is empty")
        lines: dict[tuple, int] = {}
        data = _construct(node, (), lines, loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(file, line, "", f"YAML syntax error: {problem}") from None
    finally:
        loader.dispose()
    return Located(file, data, lines)


def suggest(word: str, choices: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
