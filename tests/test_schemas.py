"""The published JSON Schemas: generated from the models, checked in, and true of what the grader reads and writes."""
from __future__ import annotations

import copy
import functools
import glob
import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from grader.cli import main
from grader.report import write_results
from grader.run import grade_submission
from grader.schemas import NAMES, schema, schema_text
from grader.scoring import SubmissionResult, whole_exercise
from grader.spec.loader import load_yaml
from grader.spec.models import Exercise

if importlib.util.find_spec("jsonschema") is None:
    # found, not imported: importing jsonschema costs every test process about 1 CPU s, so the tests import it
    pytest.skip("jsonschema is not installed", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
CHECKED_IN = REPO / "docs" / "reference" / "schemas"


@functools.lru_cache(maxsize=None)
def validator(name: str, closed: bool = False):
    """A validator for the schema `name`; `closed`: every object refuses fields the schema does not name."""
    import jsonschema

    body = schema(name)
    if closed:
        body = copy.deepcopy(body)
        for node in [body, *body.get("$defs", {}).values()]:
            if node.get("type") == "object":
                node["additionalProperties"] = False
    jsonschema.Draft202012Validator.check_schema(body)
    return jsonschema.Draft202012Validator(body)


def problems(name: str, document, closed: bool = False) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(name, closed).iter_errors(document)]


@pytest.mark.parametrize("name", NAMES)
def test_the_checked_in_schema_is_the_generated_one(name):
    assert (CHECKED_IN / f"{name}.json").read_text(encoding="utf-8") == schema_text(name), (
        f"docs/reference/schemas/{name}.json is stale: torchgrade schema {name} > docs/reference/schemas/{name}.json")


@pytest.mark.parametrize("name", NAMES)
def test_torchgrade_schema_prints_it(name):
    result = CliRunner().invoke(main, ["schema", name])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == schema(name)


def test_torchgrade_schema_refuses_an_unknown_name():
    result = CliRunner().invoke(main, ["schema", "gradebook"])
    assert result.exit_code == 2 and "results" in result.output


EXERCISE_FILES = sorted(glob.glob(str(REPO / "exercises" / "**" / "*.yaml"), recursive=True))


@pytest.mark.parametrize("file", EXERCISE_FILES, ids=[str(Path(f).relative_to(REPO)) for f in EXERCISE_FILES])
def test_every_exercise_of_the_course_fits_the_exercise_schema(file):
    assert problems("exercise", load_yaml(file).data) == []


def test_course_yaml_fits_the_course_schema():
    assert problems("course", load_yaml(REPO / "course.yaml").data) == []


def _exercise(path: str) -> dict:
    return copy.deepcopy(load_yaml(REPO / "exercises" / path).data)


def test_the_exercise_schema_refuses_what_the_grader_refuses():
    sigmoid = _exercise("activations/sigmoid.yaml")
    unknown_field = {**sigmoid, "refrence": "torch.sigmoid"}
    unknown_kind = {**sigmoid, "checks": [{"kind": "value", "points": 1}]}
    no_signature = {key: value for key, value in sigmoid.items() if key != "signature"}
    question = _exercise("questions/dead_relu.yaml")
    question_with_a_function = {**question, "signature": "dead_relu()"}
    norms = _exercise("experiments/gradient_norms.yaml")
    norms["checks"][0]["properties"].append("all_finit")  # a bare name that is no property
    for document in (unknown_field, unknown_kind, no_signature, question_with_a_function, norms):
        assert problems("exercise", document), document
        with pytest.raises(ValidationError):
            Exercise.model_validate(document)


def test_the_exercise_schema_accepts_a_property_by_its_bare_name_or_as_a_mapping():
    norms = _exercise("experiments/gradient_norms.yaml")
    norms["checks"][0]["properties"] = ["all_finite", {"all_positive": True}, {"length_equals": "depth"}]
    assert problems("exercise", norms) == []
    Exercise.model_validate(norms)


def test_the_results_json_of_a_graded_submission_fits_the_results_schema(plans, server, tmp_path):
    (tmp_path / "scratch").mkdir()
    result = grade_submission(plans(None, True), REPO / "examples" / "alice", server, tmp_path / "scratch")
    written = json.loads(write_results(result, tmp_path / "out").read_text(encoding="utf-8"))
    assert written["exercises"] and 0 < written["score"] < written["max_score"]
    assert problems("results", written) == []
    assert problems("results", written, closed=True) == []  # and it writes no field the schema leaves out


def test_a_result_that_could_not_be_graded_fits_the_results_schema(course):
    exercises = tuple(whole_exercise(e, list(e.checks), "error", "The submission could not be read.")
                      for e in course.exercises[:2])
    written = SubmissionResult("mallory", exercises).to_json()
    written["error"] = "the notebook's cell 12 has metadata that is not an object"
    written["exercises"][0]["checks"][0]["mistake"] = "sigmoid_without_exp"
    assert problems("results", written, closed=True) == []


def test_the_results_schema_refuses_a_renamed_field_or_an_unknown_status(course):
    written = SubmissionResult("bob", (whole_exercise(course.exercises[0], list(course.exercises[0].checks),
                                                      "failed", "Not submitted"),)).to_json()
    renamed = copy.deepcopy(written)
    renamed["points"] = renamed.pop("score")
    unknown_status = copy.deepcopy(written)
    unknown_status["exercises"][0]["checks"][0]["status"] = "ok"
    for document in (renamed, unknown_status):
        assert problems("results", document), document
