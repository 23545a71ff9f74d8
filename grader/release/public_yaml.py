"""The student's copy of the course's YAML: hidden checks removed, teacher code replaced by data.

An exercise keeps everything a student may read (statement, signature, hints, public checks
and their inputs). A reference that is teacher code (`solutions/…:name`), a derivative's `of`
that is, and a question's answer (answer, accept, tolerance, explanation) are left out; the
exercise names instead its file of precomputed expected values (`expected: expected/<id>.pt`),
which every check kind that needs them reads (grader.checks.expected). References that are torch
built-ins stay names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .. import kinds
from ..cases import case_source
from ..spec import Course, Exercise

EXPECTED_DIR = "expected"


class ReleaseError(Exception):
    """The course cannot be released as it is; the message is for the teacher."""


#: Fields of a check kind that give the answer away (its model's secret_fields): they leave the bundle
#: entirely (no file, no hash holds them); the model's public_fields take their place (a question's `form`).
SECRET_FIELDS = {kind: model.secret_fields for kind, model in kinds.models().items() if model.secret_fields}

#: An exercise's catalogue (the mistakes students make, right work in other styles): for the teacher's
#: audit and the teacher's grading feedback only. A mistake's code is a wrong answer a student could copy,
#: an accepted variant a right one.
TEACHER_ONLY_FIELDS = ("mistakes", "accepted")

#: course.yaml fields that only the teacher's commands read.
TEACHER_ONLY_COURSE_FIELDS = ("solutions",)


def is_teacher_code(ref: str | None) -> bool:
    """`solutions/activations.py:sigmoid` is; `torch.sigmoid` is not (see spec.refs)."""
    return ref is not None and ":" in ref


def needs_expected(exercise: Exercise) -> bool:
    """Whether a public check of the exercise computes its expected values with teacher code."""
    public = [c for c in exercise.checks if not c.hidden]
    return is_teacher_code(exercise.reference) or any(is_teacher_code(getattr(c, "of", None)) for c in public)


def expected_file(exercise: Exercise) -> str:
    return f"{EXPECTED_DIR}/{exercise.id}.pt"


def public_exercise(raw: dict[str, Any], exercise: Exercise, file: Path) -> dict[str, Any]:
    """The exercise's YAML data without hidden checks and without teacher code."""
    _refuse_hidden_inputs(exercise, file)
    data = {key: value for key, value in raw.items() if key != "checks" and key not in TEACHER_ONLY_FIELDS}
    public = [(dict(check), model) for check, model in zip(raw["checks"], exercise.checks) if not model.hidden]
    checks = []
    for check, model in public:
        if model.secret_fields:
            check = {key: value for key, value in check.items() if key not in model.secret_fields}
            check.update(model.public_fields())
        checks.append(check)
    if needs_expected(exercise):
        if is_teacher_code(exercise.reference):
            data.pop("reference", None)
        for check in checks:
            if is_teacher_code(check.get("of")):
                del check["of"]
        data = _insert_after(data, "reference" if "reference" in data else "signature", "expected",
                             expected_file(exercise))
    data["checks"] = checks
    return data


def public_course(raw: dict[str, Any], exercise_files: list[str]) -> dict[str, Any]:
    """course.yaml with its exercise list spelled out file by file, in the course's order."""
    return {key: (exercise_files if key == "exercises" else value) for key, value in raw.items()
            if key not in TEACHER_ONLY_COURSE_FIELDS}


def dump_yaml(data: Any, header: str = "") -> str:
    """YAML a person can read: keys in their order, multi-line text as literal blocks."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _refuse_hidden_inputs(exercise: Exercise, file: Path) -> None:
    """A public check that reuses a hidden check's inputs would ship them; the teacher must choose."""
    for check in exercise.checks:
        source = case_source(exercise, check)
        if not check.hidden and source is not check and getattr(source, "hidden", False):
            raise ReleaseError(f"{file}: check '{check.label}' reuses the inputs of the hidden check "
                               f"'{source.label}' (the first with inputs); releasing would show them to students. "
                               f"Give '{check.label}' its own inputs, or move a public check with inputs first.")


def _insert_after(data: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        out[k] = v
        if k == after:
            out[key] = value
    out.setdefault(key, value)
    return out


class _Dumper(yaml.SafeDumper):
    """Block style for the document; one line ({...}, [...]) for what fits on one, as a person writes it."""


FLOW_WIDTH = 72


def _one_line(value: Any) -> bool:
    if isinstance(value, str) and "\n" in value:
        return False
    if isinstance(value, (dict, list)) and not all(_one_line(v) for v in (value.values() if isinstance(value, dict) else value)):
        return False
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True).strip()
    return len(text) <= FLOW_WIDTH


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _mapping(dumper: yaml.SafeDumper, value: dict) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=_one_line(value))


def _sequence(dumper: yaml.SafeDumper, value: list) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_one_line(value))


_Dumper.add_representer(str, _text)
_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)
