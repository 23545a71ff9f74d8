"""JSON Schemas of what torchgrade reads and writes, generated from the models that define them.

- `results`: results.json (grader.results_shape), what a course platform reads;
- `exercise`: one exercise's YAML file (grader.spec.models.Exercise and its check kinds);
- `course`: course.yaml (grader.spec.models.CourseFile).

`torchgrade schema NAME` prints one; docs/reference/schemas/NAME.json is its checked-in copy, kept equal
to the generated one by the tests.
"""
from __future__ import annotations

import json
from typing import Any, Callable

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _results() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from .results_shape import ResultsJson
    return TypeAdapter(ResultsJson).json_schema()


def _exercise() -> dict[str, Any]:
    from .spec.models import Exercise
    return Exercise.model_json_schema()


def _course() -> dict[str, Any]:
    from .spec.models import CourseFile
    return CourseFile.model_json_schema()


_MODELS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "results": ("results.json: one submission's scores and feedback, as written by `torchgrade grade`", _results),
    "exercise": ("One exercise of a torchgrade course, as written in its YAML file", _exercise),
    "course": ("course.yaml: a torchgrade course's name, modules, exercise files and limits", _course),
}

NAMES = tuple(_MODELS)


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) called `name`, one of NAMES."""
    title, generate = _MODELS[name]
    body = generate()
    body.pop("title", None)
    return {"$schema": SCHEMA_DIALECT, "title": title, **body}


def schema_text(name: str) -> str:
    """The schema as the checked-in file holds it: indented JSON, keys in order, one newline at the end."""
    return json.dumps(schema(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
