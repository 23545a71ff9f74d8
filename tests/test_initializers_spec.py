"""Initialiser check kinds in YAML: teacher mistakes named by file and line, and the course covers what torch accepts."""
from __future__ import annotations

import typing
from pathlib import Path

import pytest
import torch

from grader.checks import SpecProblem
from grader.plan import build_plan
from grader.spec import SpecErrors, load_course

COURSE = "name: Tiny\nmodules: [initializers]\nexercises: [exercises/*.yaml]\n"

EXERCISE = """\
id: normal_
title: Normal
module: initializers
signature: "normal_(tensor, mean=0.0, std=1.0, generator=None)"
reference: torch.nn.init.normal_
statement: |
  Fill it.
checks:
  - kind: in_place
    points: 1
{check}
"""


def course_with(tmp_path: Path, check: str) -> Path:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "course.yaml").write_text(COURSE)
    (tmp_path / "exercises" / "normal_.yaml").write_text(EXERCISE.format(check=check))
    return tmp_path / "course.yaml"


def spec_error(tmp_path: Path, check: str) -> str:
    with pytest.raises(SpecErrors) as caught:
        load_course(course_with(tmp_path, check))
    return str(caught.value)


def test_a_distribution_on_too_few_values_is_named_with_file_and_line(tmp_path):
    text = spec_error(tmp_path, "  - kind: distribution\n    points: 1\n    shapes: [[16, 8]]\n")
    assert "normal_.yaml:11:" in text and "at least 1000" in text


def test_a_generator_among_the_keywords_is_refused(tmp_path):
    text = spec_error(tmp_path, "  - kind: generator\n    points: 1\n    kwargs: [{generator: 3}]\n")
    assert "normal_.yaml:11:" in text and "'generator' is the checks' own" in text


def test_inputs_on_an_initialiser_kind_are_refused_in_favour_of_shapes(tmp_path):
    text = spec_error(tmp_path, "  - kind: exact\n    points: 1\n    inputs: {tensor: {shapes: [[3]]}}\n")
    assert "give 'shapes'" in text


@pytest.mark.parametrize("name, says", [("torch.nn.init.nope_", "cannot import"),
                                        ("torch.sigmoid", "not a Python function")])
def test_forbid_function_names_only_importable_python_functions(tmp_path, name, says):
    text = spec_error(tmp_path, f"  - kind: forbid_function\n    points: 1\n    functions: [{name}]\n")
    assert "normal_.yaml:11:" in text and says in text


def test_exact_bounds_need_a_reference_that_draws_with_uniform(tmp_path):
    course = load_course(course_with(tmp_path, "  - kind: distribution\n    points: 1\n    bounds: true\n"))
    with pytest.raises(SpecProblem, match="'bounds: true' needs a reference that draws with Tensor.uniform_"):
        build_plan(course, hidden=True, workdir=tmp_path / "plan")


def test_calculate_gain_is_checked_on_every_nonlinearity_torch_accepts_and_leaky_relu_with_and_without_param(course):
    # torch's own list where it has one (recent torch); before (2.4), the same names from calculate_gain's docstring
    accepted = set(typing.get_args(getattr(torch.nn.init, "_NonlinearityType", None))) or {
        "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
        "sigmoid", "tanh", "relu", "leaky_relu", "selu"}
    assert {"tanh", "relu", "leaky_relu", "selu", "conv_transpose3d"} <= accepted
    exact = [c for c in course.exercise("calculate_gain").checks if c.kind == "exact"]
    keywords = [k for check in exact for k in check.kwargs]
    assert {k["nonlinearity"] for k in keywords} >= accepted
    leaky = [k for k in keywords if k["nonlinearity"] == "leaky_relu"]
    assert any(k.get("param") is None for k in leaky) and any(isinstance(k.get("param"), float) for k in leaky)


def test_kaiming_distributions_cover_both_modes_and_the_nonlinearity_families(course):
    for exercise_id in ("kaiming_normal_", "kaiming_uniform_"):
        keywords = [k for c in course.exercise(exercise_id).checks if c.kind == "distribution" for k in c.kwargs]
        assert {k.get("mode", "fan_in") for k in keywords} == {"fan_in", "fan_out"}
        assert {k.get("nonlinearity", "leaky_relu") for k in keywords} >= {"leaky_relu", "relu", "tanh", "selu",
                                                                            "linear", "sigmoid"}
        assert any("a" in k for k in keywords)
        shapes = {tuple(s) for c in course.exercise(exercise_id).checks if c.kind == "distribution" for s in c.shapes}
        assert {(256, 512), (64, 16, 3, 3)} <= shapes
