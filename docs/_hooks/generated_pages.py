"""MkDocs hook: pages whose content comes from the code, so that it is written once.

A page holds a marker such as `<!-- generated: check-kinds -->`; at build time the marker is
replaced by tables rendered from the pydantic models in `grader/spec` (each field's type, default
and `description`, each model's docstring), or by CHANGELOG.md at the repository's root.
"""
from __future__ import annotations

import inspect
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from grader import kinds as kind_registry
from grader.spec import checks as check_models
from grader.spec import models as file_models

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")


def _type(annotation: Any, anchors: dict[type, str]) -> str:
    """A field's type in YAML's words: `list of number`, `"cpu" | "cuda"`, a link to a nested model."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0], anchors)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        if all(inspect.isclass(a) and issubclass(a, check_models.CheckBase) for a in args):
            return "a check, chosen by its `kind`"
        parts = [_type(a, anchors) for a in args if a is not type(None)]
        return " | ".join(parts)
    if origin is list:
        return f"list of {_type(args[0], anchors)}"
    if origin is tuple:
        return "[" + ", ".join(_type(a, anchors) for a in args) + "]"
    if origin is dict:
        return f"mapping {_type(args[0], anchors)} → {_type(args[1], anchors)}"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        anchor = anchors.get(annotation)
        return f"[{annotation.__name__}](#{anchor})" if anchor else annotation.__name__
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    if annotation is Any:
        return "any"
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "") if model.__doc__ else ""


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """Fields documented by a `#:` comment above them in the model's source, as Sphinx reads them."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    return {name: text for text, name in re.findall(r"#: (.*)\n\s+(\w+):", source)}


def _fields_table(model: type[BaseModel], anchors: dict[type, str], skip: set[str] = frozenset()) -> str:
    rows = ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    comments = _comments(model)
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        meaning = field.description or comments.get(name, "")
        rows.append(f"| `{name}` | {_cell(_type(field.annotation, anchors))} | {_cell(_default(field))} "
                    f"| {_cell(meaning)} |")
    return "\n".join(rows) if len(rows) > 2 else "No fields of its own."


def _nested(models: list[type[BaseModel]], seen: set[type]) -> list[type[BaseModel]]:
    """Every model reachable from the fields of `models`, in order of first appearance."""
    found: list[type[BaseModel]] = []

    def walk(annotation: Any) -> None:
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.add(annotation)
                found.append(annotation)
                for field in annotation.model_fields.values():
                    walk(field.annotation)
            return
        for arg in typing.get_args(annotation):
            walk(arg)

    for model in models:
        for field in model.model_fields.values():
            walk(field.annotation)
    return found


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def check_kinds() -> str:
    """Every check kind: its docstring and the fields it adds to those every check has."""
    kinds = kind_registry.models()
    common = set(check_models.CheckBase.model_fields)
    nested = _nested(list(kinds.values()), seen=set(kinds.values()) | {check_models.CheckBase})
    anchors = {model: _anchor(model) for model in nested}
    out = ["## Fields every check has", "",
           "Besides `kind`, each check takes these. `inputs`, `cases`, `kwargs`, `dtypes` and `devices` "
           "say where its cases come from; a check that gives none of them reuses the first values "
           "check's cases. Some kinds refuse some of these fields (a plot check takes its cases from "
           "`functions` or `logits`, an initialiser check makes its own tensors from `shapes`); the "
           "validator says so with the file and line.", "",
           _fields_table(check_models.CheckBase, anchors), ""]
    for kind, model in kinds.items():
        out += [f"## `{kind}`", "", _doc(model), ""]
        needs = "Its expected values come from the exercise's `reference`." \
            if model.needs_reference else ""
        if needs:
            out += [needs, ""]
        out += [_fields_table(model, anchors, skip=common | {"kind"}), ""]
    out += ["## Values inside check fields", ""]
    for model in nested:
        out += [f"### {model.__name__} {{#{anchors[model]}}}", "", _doc(model), "",
                _fields_table(model, anchors), ""]
    return "\n".join(out)


def course_schema() -> str:
    """course.yaml: the course file and the models it holds."""
    top = [file_models.CourseFile]
    nested = _nested(top, seen=set(top))
    anchors = {model: _anchor(model) for model in nested}
    out = [_fields_table(file_models.CourseFile, anchors), ""]
    for model in nested:
        out += [f"### {model.__name__} {{#{anchors[model]}}}", "", _doc(model), "",
                _fields_table(model, anchors), ""]
    return "\n".join(out)


def exercise_schema() -> str:
    """One exercise file; its checks are on the check kinds page."""
    anchors: dict[type, str] = {}
    table = _fields_table(file_models.Exercise, anchors)
    hints = ", ".join(f"`{key}`" for key in file_models.HINT_KEYS)
    return (f"{table}\n\n`checks` is a list of checks, each chosen by its `kind`: see "
            f"[Check kinds](../teachers/check-kinds.md). The keys of `hints` are {hints}.\n")


def changelog() -> str:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.sub(r"\A# [^\n]*\n", "", text)  # the page has its own title


GENERATORS = {"check-kinds": check_kinds, "course-schema": course_schema,
              "exercise-schema": exercise_schema, "changelog": changelog}


def on_page_markdown(markdown: str, **_: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated section {name!r}; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(replace, markdown)
