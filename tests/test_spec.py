"""A teacher's mistake in YAML gets one clear line naming the file, the line and the field."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.spec import SpecError, SpecErrors, load_course

COURSE = """\
name: Tiny
modules: [activations]
exercises: [exercises/*.yaml]
"""

EXERCISE = """\
id: sigmoid
title: The sigmoid
module: activations
signature: "sigmoid(x)"
reference: torch.sigmoid
statement: |
  Implement it.
forbid: [aten.sigmoid]
checks:
  - kind: values
    points: 2
    inputs:
      x: {shapes: [[3], [2, 2]], range: [-5, 5]}
  - kind: forbid
    points: 1
"""

SOLUTION = "import torch\n\ndef helper(x):\n    return x\n"


def write_course(tmp_path: Path, exercise: str = EXERCISE, course: str = COURSE) -> Path:
    (tmp_path / "exercises").mkdir(exist_ok=True)
    (tmp_path / "solutions").mkdir(exist_ok=True)
    (tmp_path / "solutions" / "activations.py").write_text(SOLUTION)
    (tmp_path / "course.yaml").write_text(course)
    (tmp_path / "exercises" / "sigmoid.yaml").write_text(exercise)
    return tmp_path / "course.yaml"


def validate(course_file: Path):
    return CliRunner().invoke(main, ["validate", "--course", str(course_file)])


def test_the_shipped_course_is_valid(repo):
    result = CliRunner().invoke(main, ["validate", "--course", str(repo / "course.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_a_minimal_course_is_valid(tmp_path):
    result = validate(write_course(tmp_path))
    assert result.exit_code == 0, result.output


# (description, text to replace, replacement, file that must be named, line, field, words in the message)
BROKEN = [
    ("yaml syntax error", "title: The sigmoid", "title: [The sigmoid", "sigmoid.yaml", None, "", "YAML syntax error"),
    ("unknown field with suggestion", "    points: 2", "    pionts: 2", "sigmoid.yaml", 11, "checks[0].pionts",
     "unknown field 'pionts' (did you mean 'points'?)"),
    ("points as text", "    points: 2", "    points: two", "sigmoid.yaml", 11, "checks[0].points", "must be a valid number"),
    ("points zero", "    points: 2", "    points: 0", "sigmoid.yaml", 11, "checks[0].points", "greater than 0"),
    ("points negative", "    points: 1", "    points: -1", "sigmoid.yaml", 15, "checks[1].points", "greater than 0"),
    ("unknown check kind", "  - kind: forbid", "  - kind: forbidden", "sigmoid.yaml", 14, "checks[1].kind",
     "unknown check kind 'forbidden' (did you mean 'forbid'?)"),
    ("missing title", "title: The sigmoid\n", "", "sigmoid.yaml", 1, "title", "required field is missing"),
    ("missing reference for values", "reference: torch.sigmoid\n", "", "sigmoid.yaml", None, "",
     "needs the exercise's 'reference'"),
    ("reference not importable", "reference: torch.sigmoid", "reference: torch.sigmoidd", "sigmoid.yaml", 5,
     "reference", "cannot import 'torch.sigmoidd'"),
    ("reference file missing", "reference: torch.sigmoid", "reference: solutions/nope.py:sigmoid", "sigmoid.yaml", 5,
     "reference", "'solutions/nope.py' does not exist"),
    ("reference function missing", "reference: torch.sigmoid", "reference: solutions/activations.py:sigmoid",
     "sigmoid.yaml", 5, "reference", "defines no 'sigmoid'"),
    ("module not in course", "module: activations", "module: activation", "sigmoid.yaml", 3, "module",
     "not one of course.yaml's modules"),
    ("signature names another function", 'signature: "sigmoid(x)"', 'signature: "sigmod(x)"', "sigmoid.yaml", 4,
     "signature", "names 'sigmod'"),
    ("signature not python", 'signature: "sigmoid(x)"', 'signature: "sigmoid(x"', "sigmoid.yaml", 4, "signature",
     "is not a Python signature"),
    ("forbid not an aten op", "forbid: [aten.sigmoid]", "forbid: [torch.sigmoid]", "sigmoid.yaml", 8, "forbid[0]",
     "not an aten operator"),
    ("two checks with one name", "  - kind: forbid\n    points: 1", "  - kind: values\n    points: 1", "sigmoid.yaml",
     None, "checks[1].name", "two checks are called 'values'"),
    ("input that is not a parameter", "      x: {shapes", "      z: {shapes", "sigmoid.yaml", 13,
     "checks[0].inputs.z", "'z' is not a parameter"),
    ("range upside down", "range: [-5, 5]", "range: [5, -5]", "sigmoid.yaml", 13, "checks[0].inputs.x",
     "low end must be below the high end"),
    ("unknown dtype", "    points: 2\n", "    points: 2\n    dtypes: [float8]\n", "sigmoid.yaml", 12,
     "checks[0].dtypes[0]", "must be 'float16', 'bfloat16', 'float32' or 'float64'"),
    ("unknown device", "    points: 2\n", "    points: 2\n    devices: [tpu]\n", "sigmoid.yaml", 12,
     "checks[0].devices[0]", "must be 'cpu' or 'cuda'"),
    ("duplicate key", "module: activations\n", "module: activations\nmodule: activations\n", "sigmoid.yaml", 4,
     "module", "this key appears twice"),
    ("top level is a list", None, "- id: sigmoid\n", "sigmoid.yaml", 1, "", "expected a mapping"),
    ("empty file", None, "", "sigmoid.yaml", 1, "", "the file is empty"),
    ("derivative of something missing", "  - kind: forbid\n    points: 1",
     "  - kind: derivative\n    points: 1\n    of: torch.not_a_function", "sigmoid.yaml", 16, "checks[1].of",
     "cannot import 'torch.not_a_function'"),
    ("shapes count differs between inputs", "      x: {shapes: [[3], [2, 2]], range: [-5, 5]}",
              "      x: {shapes: [[3], [2, 2]], range: [-5, 5]}\n      w: {shapes: [[3]]}", "sigmoid.yaml", 12,
              "checks[0].inputs", "every input needs the same number of shapes"),
]


@pytest.mark.parametrize("name,old,new,file,line,field,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_exercise_is_reported_on_one_line(tmp_path, name, old, new, file, line, field, words):
    if name == "shapes count differs between inputs":
        exercise = EXERCISE.replace('signature: "sigmoid(x)"', 'signature: "sigmoid(x, w)"').replace(old, new)
    elif old is None:
        exercise = new
    else:
        assert old in EXERCISE, f"test setup: {old!r} not in the base exercise"
        exercise = EXERCISE.replace(old, new, 1)
    result = validate(write_course(tmp_path, exercise))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [l for l in result.output.splitlines() if l.strip()]
    matching = [l for l in lines if words in l]
    assert matching, f"no line says {words!r}:\n{result.output}"
    problem = matching[0]
    assert file in problem
    location = re.match(r"^(?P<file>[^:]+)(?::(?P<line>\d+))?: (?P<rest>.*)$", problem)
    assert location, problem
    if line is not None:
        assert location["line"] == str(line), problem
    if field:
        assert location["rest"].startswith(field + ": "), problem


def test_course_level_unknown_field_names_course_yaml(tmp_path):
    result = validate(write_course(tmp_path, course=COURSE + "limts: {time_s: 3}\n"))
    assert result.exit_code == 2
    assert "course.yaml:4: limts: unknown field 'limts' (did you mean 'limits'?)" in result.output


def test_exercise_glob_matching_nothing_is_named(tmp_path):
    result = validate(write_course(tmp_path, course=COURSE.replace("exercises/*.yaml", "exercise/*.yaml")))
    assert result.exit_code == 2
    assert "course.yaml:3: exercises[0]: no file matches 'exercise/*.yaml'" in result.output


def test_duplicate_exercise_ids_are_named(tmp_path):
    course_file = write_course(tmp_path)
    (tmp_path / "exercises" / "again.yaml").write_text(EXERCISE)
    result = validate(course_file)
    assert result.exit_code == 2
    assert "id: 'sigmoid' is already the id of" in result.output


def test_every_problem_in_a_course_is_listed_not_only_the_first(tmp_path):
    exercise = EXERCISE.replace("    points: 2", "    points: 0").replace("module: activations", "module: nope")
    with pytest.raises(SpecErrors) as caught:
        load_course(write_course(tmp_path, exercise))
    assert len(caught.value.errors) >= 1
    result = validate(tmp_path / "course.yaml")
    assert "greater than 0" in result.output


def test_yaml_12_floats_like_1e4_are_numbers(tmp_path):
    exercise = EXERCISE.replace("range: [-5, 5]", "range: [-1e4, 1.0e4]")
    course = load_course(write_course(tmp_path, exercise))
    assert course.exercises[0].checks[0].inputs["x"].range == (-1e4, 1e4)


def test_spec_error_formats_as_file_line_field():
    assert str(SpecError("a.yaml", 3, "checks[0].points", "must be positive")) == "a.yaml:3: checks[0].points: must be positive"


def test_a_reference_file_is_imported_without_writing_bytecode_beside_it(tmp_path):
    """A teacher's solutions folder (and a copy of it, or a release made from it) gets no __pycache__ from
    grading, the siblings a solution imports included."""
    from grader.spec.refs import resolve_callable
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "tg_sibling_helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "solutions" / "main.py").write_text("from tg_sibling_helpers import double\n\ndef quad(x):\n    return double(double(x))\n")
    quad = resolve_callable(tmp_path, "solutions/main.py:quad")
    assert quad(1) == 4
    assert not (tmp_path / "solutions" / "__pycache__").exists()
