"""`torchgrade gradescope build`: the autograder zip, run as Gradescope runs it in a simulated layout
(its root moved by TORCHGRADE_GRADESCOPE_ROOT; setup.sh's installs left out: this venv has them), and
its results.json checked against Gradescope's documented format (the schema below)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.integrations.gradescope import ROOT_VARIABLE
from grader.integrations.gradescope.run import TEACHER_PROBLEM, main as run_main, submission_folder
from grader.spec import load_course

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
#: Gradescope's results.json, as its autograder specification documents it
#: (https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format).
GRADESCOPE_RESULTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": FORMAT,
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
        }},
        "leaderboard": {"type": "array", "items": {
            "type": "object", "required": ["name", "value"],
            "properties": {"name": {"type": "string"}, "value": {"type": ["number", "string"]},
                           "order": {"enum": ["asc", "desc"]}}}},
    },
    # the total is required unless every test carries its own score
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
}


#: The course built and graded here: relu (bob's catalogued mistake, a hidden check), sigmoid_grad (its reference in
#: solutions/) and plot_activation (pictures), what the zip and Gradescope's format must carry, without planning and
#: grading the whole course in run_autograder's interpreter.
EXERCISES = ["exercises/activations/relu.yaml", "exercises/activations/sigmoid_grad.yaml",
             "exercises/plots/plot_activation.yaml"]


@pytest.fixture(scope="module")
def course(repo, tmp_path_factory):
    """A copy of the repository's course with EXERCISES only (same files and rules)."""
    root = tmp_path_factory.mktemp("course")
    for folder in ("exercises", "solutions"):
        shutil.copytree(repo / folder, root / folder)
    data = yaml.safe_load((repo / "course.yaml").read_text())
    data.update(modules=["activations", "plots"], exercises=EXERCISES)
    (root / "course.yaml").write_text(yaml.safe_dump(data))
    return load_course(root / "course.yaml")


@pytest.fixture(scope="module")
def autograder(course, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "autograder.zip"
    outcome = CliRunner().invoke(main, ["gradescope", "build", "--out", str(out), "--course", str(course.file)])
    assert outcome.exit_code == 0, outcome.output
    return out


def gradescope_layout(root: Path, autograder: Path, submission: Path | None) -> Path:
    """What Gradescope sets up: the zip in source/, run_autograder copied to the root, the submission."""
    with zipfile.ZipFile(autograder) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile drops the modes: put back the executable bits
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    if submission is not None:
        shutil.copytree(submission, root / "submission", dirs_exist_ok=True)
    (root / "results").mkdir()
    return root


def run_autograder(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{ROOT_VARIABLE: str(root)})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # python3: this venv's
    return subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, env=env, cwd=root,
                          timeout=600)


def test_the_zip_holds_setup_run_autograder_the_wheel_and_the_course_with_its_references(autograder, course):
    with zipfile.ZipFile(autograder) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "course/course.yaml", "course/solutions/activations.py"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert {f"course/exercises/{p.parent.name}/{p.name}" for p in course.exercise_files.values()} <= names
    wheel = next(n for n in names if n.endswith(".whl"))
    assert "download.pytorch.org/whl/cpu torch" in setup and f"/autograder/source/{wheel}" in setup


def test_run_autograder_grades_the_submission_into_gradescopes_results_format(autograder, repo, tmp_path, course):
    root = gradescope_layout(tmp_path / "autograder", autograder, repo / "examples" / "bob")
    done = run_autograder(root)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    import jsonschema  # here, not at the top: importing it costs every test process about 1 CPU s

    jsonschema.validate(data, GRADESCOPE_RESULTS)
    assert len(data["tests"]) == sum(len(e.checks) for e in course.exercises)  # hidden checks too
    assert 0 < data["score"] < course.max_score
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    relu = next(t for t in data["tests"] if t["name"].startswith("relu::values"))
    assert relu["status"] == "failed" and "changed its input" in relu["output"]
    assert not any("feedback/" in t["output"] for t in data["tests"])  # no file a student cannot open
    pictures = [t for t in data["tests"] if "the picture" in t["output"]]
    assert pictures and all("torchgrade check --html" in t["output"] for t in pictures if t["visibility"] == "visible")


def test_a_submission_uploaded_as_one_folder_is_graded_from_inside_it(tmp_path):
    (tmp_path / "handin").mkdir()
    (tmp_path / "handin" / "activations.py").write_text("")
    assert submission_folder(tmp_path, ("activations",)) == tmp_path / "handin"
    (tmp_path / "activations.py").write_text("")
    assert submission_folder(tmp_path, ("activations",)) == tmp_path


def test_a_broken_autograder_still_writes_valid_results_that_ask_for_the_teacher(tmp_path, capsys):
    (tmp_path / "submission").mkdir()
    assert run_main(["--root", str(tmp_path), "--course", str(tmp_path / "missing.yaml")]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    import jsonschema  # here, not at the top: importing it costs every test process about 1 CPU s

    jsonschema.validate(data, GRADESCOPE_RESULTS)
    assert data["score"] == 0 and data["output"] == TEACHER_PROBLEM
    assert "missing.yaml" in capsys.readouterr().err  # the reason, for the teacher's stdout
