"""Resumable grading: keys of submissions and courses, skip-done, --force, and kill -9 then resume."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.batch import WorkerPool, find_pending, grade_class, grading_options
from grader.cli import main
from grader.intake import Submission
from grader.resume import SIDECAR, course_key, submission_key
from grader.run import grade_submission
from grader.spec import load_course

REPO = Path(__file__).resolve().parents[1]
SMALL = ["exercises/activations/sigmoid_grad.yaml", "exercises/losses/bce_loss.yaml"]  # the first names solutions/


def small_course_dir(root: Path) -> Path:
    """A copy of the repository's course with two exercises (fast to grade, same files and rules)."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("exercises", "solutions"):
        shutil.copytree(REPO / folder, root / folder)
    data = yaml.safe_load((REPO / "course.yaml").read_text())
    data["exercises"] = SMALL
    (root / "course.yaml").write_text(yaml.safe_dump(data))
    return root / "course.yaml"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return load_course(small_course_dir(tmp_path_factory.mktemp("small-course")))


def submission(root: Path, name: str, source: str = "solutions", prelude: str = "") -> Submission:
    folder = root / name
    shutil.copytree(REPO / source, folder)
    if prelude:
        path = folder / "activations.py"
        path.write_text(prelude + path.read_text())
    return Submission.from_path(folder)


def test_submission_key_follows_the_files_and_ignores_caches(tmp_path):
    sub = submission(tmp_path, "ann")
    key = submission_key(sub)
    (sub.path / "__pycache__").mkdir()
    (sub.path / "__pycache__" / "activations.cpython-311.pyc").write_bytes(b"junk")
    assert submission_key(sub) == key
    other = submission(tmp_path, "ben")
    assert submission_key(other) == key                     # same files, same key (the name is the folder)
    (sub.path / "losses.py").write_text((sub.path / "losses.py").read_text() + "\n# resubmitted\n")
    assert submission_key(sub) != key


def test_course_key_follows_yaml_reference_files_and_options(tmp_path):
    course_file = small_course_dir(tmp_path / "a")
    options = {"hidden": True}
    key = course_key(load_course(course_file), options)
    copy = shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert course_key(load_course(copy / "course.yaml"), options) == key   # a copy elsewhere: same key
    assert course_key(load_course(course_file), {"hidden": False}) != key

    (tmp_path / "b" / "NOTES.txt").write_text("not part of the course")
    assert course_key(load_course(copy / "course.yaml"), options) == key
    reference = tmp_path / "b" / "solutions" / "activations.py"           # sigmoid_grad's reference
    reference.write_text(reference.read_text() + "\n# edited\n")
    assert course_key(load_course(copy / "course.yaml"), options) != key

    exercise = tmp_path / "a" / SMALL[0]
    exercise.write_text(exercise.read_text() + "\n# edited\n")
    assert course_key(load_course(course_file), options) != key


@pytest.fixture(scope="module")
def graded_once(small, plans, server, tmp_path_factory):
    """Two submissions graded into OUT with the session's warm server, once for the module: (its folder, the run)."""
    root = tmp_path_factory.mktemp("graded")
    subs = [submission(root / "subs", "ann"), submission(root / "subs", "ben", "examples/bob")]
    pending = find_pending(small, subs, root / "out", options=grading_options(small, hidden=True))
    run = grade_class(plans(None, True, small), pending, root / "out", jobs=1, pool=WorkerPool.of([server]),
                      quiet=True)
    return root, run


@pytest.fixture
def graded(small, graded_once, tmp_path):
    """The two submissions and OUT as graded_once left them, copied for this test to change."""
    root, run = graded_once
    for folder in ("subs", "out"):
        shutil.copytree(root / folder, tmp_path / folder)
    subs = [Submission.from_path(tmp_path / "subs" / name) for name in ("ann", "ben")]
    return small, subs, tmp_path / "out", grading_options(small, hidden=True), run


def test_each_submission_gets_results_and_then_its_key(graded):
    _, subs, out, _, run = graded
    assert run.graded == ["ann", "ben"] and run.skipped == []
    for sub in subs:
        results = json.loads((out / sub.name / "results.json").read_text())
        assert set(results) == {"submission", "score", "max_score", "exercises"}   # the published shape, untouched
        sidecar = json.loads((out / sub.name / SIDECAR).read_text())
        assert len(sidecar["key"]) == 64 and sidecar["details"]["children"] >= 1
    assert (out / "gradebook.csv").is_file()


def test_a_rerun_skips_what_is_graded(graded):
    course, subs, out, options, _ = graded
    assert find_pending(course, subs, out, options=options).todo == []


def test_a_resubmission_is_graded_again(graded):
    course, subs, out, options, _ = graded
    path = subs[1].path / "losses.py"
    path.write_text(path.read_text() + "\n# fixed it\n")
    assert [s.name for s in find_pending(course, subs, out, options=options).todo] == ["ben"]


def test_an_edited_course_regrades_everyone(graded, tmp_path):
    course, subs, out, options, _ = graded
    copy = shutil.copytree(course.root, tmp_path / "edited-course")
    edited = copy / SMALL[1]
    edited.write_text(edited.read_text() + "\n# a teacher's edit\n")
    assert [s.name for s in find_pending(load_course(copy / "course.yaml"), subs, out, options=options).todo] == [
        "ann", "ben"]


def test_force_regrades_everyone(graded):
    course, subs, out, options, _ = graded
    assert len(find_pending(course, subs, out, options=options, force=True).todo) == 2


def test_a_result_without_its_key_or_unreadable_is_graded_again(graded):
    course, subs, out, options, _ = graded
    (out / "ann" / SIDECAR).unlink()                        # killed between results.json and its key
    (out / "ben" / "results.json").write_text("{\"submission\": ")
    assert [s.name for s in find_pending(course, subs, out, options=options).todo] == ["ann", "ben"]


@pytest.mark.slow
def test_killed_run_resumes_grading_only_what_is_missing_with_identical_results(small, plans, server, tmp_path,
                                                                              monkeypatch):
    subs = [submission(tmp_path / "subs", "s1-ann"), submission(tmp_path / "subs", "s2-ben", "examples/bob")]
    # two slow imports (2 s each, well under the limit) keep the run busy when it is killed
    subs += [submission(tmp_path / "subs", f"s{i}-slow", "examples/alice", "import time\ntime.sleep(2)\n")
             for i in (3, 4)]
    subs += [submission(tmp_path / "subs", "s5-dan", "examples/starter")]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", *(str(s.path) for s in subs), "--out", str(out),
               "--jobs", "1", "--course", str(small.file), "--no-progress"]
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while not list(out.glob(f"*/{SIDECAR}")):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never finished a submission"
            time.sleep(0.01)
    finally:
        os.killpg(first.pid, signal.SIGKILL)                # kill -9 the run, its fork servers included
        first.wait()

    finished = {p.parent.name for p in out.glob(f"*/{SIDECAR}")}
    assert finished and len(finished) < len(subs)
    for results in out.glob("*/results.json"):
        json.loads(results.read_text())                     # atomic: never half a file
    untouched = {name: (out / name / "results.json").stat().st_ino for name in finished}

    monkeypatch.chdir(tmp_path)
    rerun = CliRunner().invoke(main, command[3:])  # the same command, in this process: its fork servers are warm
    assert rerun.exit_code == 0, rerun.output
    assert f"Graded {len(subs) - len(finished)}, skipped {len(finished)} already graded" in rerun.stdout
    assert {name: (out / name / "results.json").stat().st_ino for name in finished} == untouched

    plan = plans(None, True, small)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for sub in subs:
        clean = grade_submission(plan, sub, server, scratch).to_json()
        assert json.loads((out / sub.name / "results.json").read_text()) == clean, sub.name


#: Run `torchgrade grade` with one point of the grader made to SIGKILL the run's process group (fork servers
#: included) at its N-th pass: the grader itself is unchanged, only the named function is wrapped.
KILLER = '''
import os, shutil, signal, sys, threading
point, nth, *args = sys.argv[1:]
passes = [0]

def die():
    os.killpg(0, signal.SIGKILL)

def counted(function, matches=lambda *a, **k: True, after_s=None):
    def wrapper(*a, **k):
        if matches(*a, **k):
            passes[0] += 1
            if passes[0] == int(nth):
                if after_s is None:
                    die()
                threading.Timer(after_s, die).start()
        return function(*a, **k)
    return wrapper

class Proxy:
    """A module whose attributes are another's, but for the ones set on the proxy."""
    def __init__(self, module, **overrides):
        self.module, self.__dict__["overrides"] = module, overrides
    def __getattr__(self, name):
        return self.overrides.get(name) or getattr(self.module, name)

import grader.intake, grader.report.files, grader.sandbox
if point == "staging":
    grader.intake.shutil = Proxy(shutil, copyfile=counted(shutil.copyfile))
elif point == "child":
    grader.sandbox.ForkServer.run = counted(grader.sandbox.ForkServer.run, after_s=0.3)
else:  # the rename that completes writing results.json, the grading key or gradebook.csv
    target = {"results": "results.json", "key": ".grading.json", "gradebook": "gradebook.csv"}[point]
    grader.report.files.os = Proxy(os, replace=counted(os.replace, lambda tmp, path: str(path).endswith(target)))
from grader.cli import main
main(args, prog_name="torchgrade")
'''


@pytest.fixture(scope="module")
def uninterrupted(small, plans, server, tmp_path_factory):
    """Three submissions and their results graded alone: what every interrupted run must end with."""
    root = tmp_path_factory.mktemp("kill-subs")
    subs = [submission(root, "k1-ann"), submission(root, "k2-ben", "examples/bob"),
            submission(root, "k3-dan", "examples/starter")]
    scratch = tmp_path_factory.mktemp("kill-scratch")
    return subs, {s.name: grade_submission(plans(None, True, small), s, server, scratch).to_json() for s in subs}


@pytest.mark.slow
@pytest.mark.parametrize("point, nth", [("staging", 2), ("child", 2), ("results", 2), ("key", 1), ("gradebook", 1)])
def test_a_run_killed_at_any_point_resumes_to_the_same_results(small, uninterrupted, tmp_path, monkeypatch, point, nth):
    subs, expected = uninterrupted
    out = tmp_path / "out"
    args = ["grade", *(str(s.path) for s in subs), "--out", str(out), "--jobs", "1", "--course", str(small.file),
            "--no-progress"]
    (tmp_path / "killer.py").write_text(KILLER)
    killed = subprocess.run([sys.executable, str(tmp_path / "killer.py"), point, str(nth), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, start_new_session=True)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    for results in out.glob("*/results.json"):
        json.loads(results.read_text())                     # atomic: never half a file under the real name
    if point == "results":
        assert list(out.glob("*/.results.json.*"))          # killed mid-write: the unfinished file is beside it
    monkeypatch.chdir(tmp_path)
    rerun = CliRunner().invoke(main, args)  # `torchgrade grade` again, in this process: its fork servers are warm
    assert rerun.exit_code == 0, rerun.output
    for sub in subs:
        assert json.loads((out / sub.name / "results.json").read_text()) == expected[sub.name], sub.name
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == sorted(expected)
    assert [float(row.split(",")[-2]) for row in rows[1:]] == [expected[name]["score"] for name in sorted(expected)]


def test_course_key_reads_long_one_line_prose_as_prose(tmp_path):
    """Every YAML string is tried as a file name; a sentence past the system's name limit is not an error."""
    course_file = small_course_dir(tmp_path)
    exercise = tmp_path / SMALL[0]
    data = yaml.safe_load(exercise.read_text())
    data["hints"]["values"] = "σ'(x) = σ(x)(1 − σ(x)) " * 20 + "\0 and a NUL"
    exercise.write_text(yaml.safe_dump(data, allow_unicode=True))
    course = load_course(course_file)
    assert len(course.exercises[0].hints["values"].encode()) > 255
    assert course_key(course) == course_key(load_course(course_file))
