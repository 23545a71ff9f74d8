"""--shard K/N slices and `torchgrade merge`, and the Slurm / Kubernetes driver run as plain processes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.report import write_results
from grader.report.gradebook import gradebook_csv
from grader.resume import write_sidecar
from grader.run import grade_submission
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult
from grader.shard import Shard, ShardError, merge, parse_shard, select, shard_of, write_record
from grader.spec import load_course

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "examples" / "slurm" / "grade_shard.sh"
NAMES = [f"student{i:03d}" for i in range(200)]


def result(name: str, scores: dict[str, float]) -> SubmissionResult:
    return SubmissionResult(name, tuple(
        ExerciseResult(ex, ex, (CheckResult("values", "values", "passed" if s == 10 else "failed", s, 10.0, ""),))
        for ex, s in scores.items()))


class Named:
    def __init__(self, name: str):
        self.name = name


def test_parse_shard_reads_k_of_n_and_refuses_nonsense():
    assert parse_shard("2/8") == Shard(2, 8)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", ""):
        with pytest.raises(ShardError):
            parse_shard(bad)


def test_shards_partition_the_class_whatever_the_order():
    slices = [select([Named(n) for n in NAMES], Shard(k, 4)) for k in range(1, 5)]
    names = [item.name for piece in slices for item in piece]
    assert sorted(names) == sorted(NAMES)                      # each submission in exactly one shard
    assert all(30 <= len(piece) <= 70 for piece in slices)     # balanced on average (200 / 4 = 50)
    shuffled = [Named(n) for n in reversed(NAMES)]
    assert {i.name for i in select(shuffled, Shard(3, 4))} == {i.name for i in slices[2]}


def test_a_late_submission_moves_nobody_else_to_another_shard():
    before = {n: shard_of(n, 8) for n in NAMES}
    after = {n: shard_of(n, 8) for n in NAMES + ["latecomer"]}
    assert all(after[n] == before[n] for n in NAMES)


def shard_dir(root: Path, k: int, results, course: str = "course-a", count: int = 2, complete: bool = True) -> Path:
    """A shard's output as `grade --shard k/count` leaves it: results, sidecars and the shard record."""
    folder = root / f"shard-{k}"
    for item in results:
        write_results(item, folder)
        write_sidecar(folder / item.submission, "key-" + item.submission, course, item.details)
    write_record(folder, Shard(k, count), [r.submission for r in results], course, complete=complete,
                 exercise_ids=["sigmoid"])
    return folder


def test_merge_joins_shards_into_one_gradebook(tmp_path):
    ann, ben = result("ann", {"sigmoid": 10}), result("ben", {"sigmoid": 4})
    a, b = shard_dir(tmp_path, 1, [ann]), shard_dir(tmp_path, 2, [ben])
    outcome = CliRunner().invoke(main, ["merge", str(a), str(b), "--out", str(tmp_path / "class")])
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "class" / "gradebook.csv").read_text() == gradebook_csv([ann, ben], ["sigmoid"])
    for name in ("ann", "ben"):
        assert (tmp_path / "class" / name / "results.json").is_file()
        assert (tmp_path / "class" / name / ".grading.json").is_file()


def test_merge_refuses_one_submission_graded_differently_in_two_shards(tmp_path):
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})])
    b = shard_dir(tmp_path, 2, [result("ann", {"sigmoid": 3})])
    with pytest.raises(ShardError, match="ann was graded in both"):
        merge([a, b], tmp_path / "class")


def test_merge_refuses_while_a_shard_is_missing_and_names_it(tmp_path):
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})], count=3)
    c = shard_dir(tmp_path, 3, [result("cat", {"sigmoid": 10})], count=3)
    outcome = CliRunner().invoke(main, ["merge", str(a), str(c), "--out", str(tmp_path / "class")])
    assert outcome.exit_code == 1 and "shard 2/3 is missing" in outcome.output
    assert not (tmp_path / "class").exists()


def test_merge_refuses_a_shard_whose_run_was_stopped(tmp_path):
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})])
    b = shard_dir(tmp_path, 2, [result("ben", {"sigmoid": 4})], complete=False)
    outcome = CliRunner().invoke(main, ["merge", str(a), str(b), "--out", str(tmp_path / "class")])
    assert outcome.exit_code == 1, outcome.output
    assert f"shard 2/2 in {b} is incomplete: its run did not finish" in outcome.output
    assert not (tmp_path / "class").exists()


def test_merge_never_takes_a_results_json_without_its_sidecar(tmp_path):
    """A run killed between results.json and the sidecar that marks it finished left that result half done."""
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})])
    b = shard_dir(tmp_path, 2, [result("ben", {"sigmoid": 4}), result("bea", {"sigmoid": 10})])
    (b / "bea" / ".grading.json").unlink()
    unfinished = r"shard 2/2 .* incomplete: no finished result for 1 of its 2 submissions \(bea\)"
    with pytest.raises(ShardError, match=unfinished):
        merge([a, b], tmp_path / "class")


def test_merge_refuses_a_folder_that_is_no_shard_output(tmp_path):
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})], count=1)
    stray = tmp_path / "graded"
    write_results(result("ben", {"sigmoid": 4}), stray)
    with pytest.raises(ShardError, match=r"graded has no \.shard\.json"):
        merge([a, stray], tmp_path / "class")


def test_merge_refuses_shards_of_different_splits(tmp_path):
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})], count=2)
    b = shard_dir(tmp_path, 2, [result("ben", {"sigmoid": 4})], count=4)
    with pytest.raises(ShardError, match="different splits"):
        merge([a, b], tmp_path / "class")


def test_merge_refuses_shards_graded_under_different_courses(tmp_path):
    a = shard_dir(tmp_path, 1, [result("ann", {"sigmoid": 10})], course="course-a")
    b = shard_dir(tmp_path, 2, [result("ben", {"sigmoid": 3})], course="course-b")
    outcome = CliRunner().invoke(main, ["merge", str(a), str(b), "--out", str(tmp_path / "class")])
    assert outcome.exit_code == 1 and "different courses" in outcome.output


def test_a_submission_named_like_the_shard_record_is_graded_beside_it(tmp_path):
    (tmp_path / "subs" / ".shard.json").mkdir(parents=True)
    shutil.copy2(REPO / "examples" / "bob" / "activations.py", tmp_path / "subs" / ".shard.json")
    course = small_course(tmp_path / "course")  # what is graded does not matter here, only where it is written
    outcome = CliRunner().invoke(main, ["grade", str(tmp_path / "subs" / ".shard.json"), "--out", str(tmp_path / "out"),
                                        "--shard", "1/1", "--course", str(course.file)])
    assert outcome.exit_code == 0, outcome.output
    assert "results are under 'submission-.shard.json'" in outcome.output
    record = json.loads((tmp_path / "out" / ".shard.json").read_text())
    assert record["complete"] is True and record["submissions"] == ["submission-.shard.json"]
    assert (tmp_path / "out" / "submission-.shard.json" / "results.json").is_file()


def small_course(root: Path):
    """A copy of the repository's course with two exercises (fast to grade, same files and rules)."""
    for folder in ("exercises", "solutions"):
        shutil.copytree(REPO / folder, root / folder)
    data = yaml.safe_load((REPO / "course.yaml").read_text())
    data["exercises"] = ["exercises/activations/sigmoid_grad.yaml", "exercises/losses/bce_loss.yaml"]
    (root / "course.yaml").write_text(yaml.safe_dump(data))
    return load_course(root / "course.yaml")


def driver_env(tmp_path: Path, torchgrade: str, course: Path = REPO / "course.yaml", **engine: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_COMPLETION", "SHARD_"))}
    env.update(SUBMISSIONS=str(tmp_path / "subs"), OUT=str(tmp_path / "out"), COURSE=str(course),
               JOBS="1", TORCHGRADE=torchgrade, **engine)
    return env


@pytest.mark.parametrize("engine, expected", [
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, "3/4"),
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "1", "SHARD_COUNT": "4"}, "3/4"),  # resubmitted alone
    ({"JOB_COMPLETION_INDEX": "0", "SHARD_COUNT": "4"}, "1/4"),     # Kubernetes indexes from 0
    ({"SHARD_INDEX": "4", "SHARD_COUNT": "4"}, "4/4"),
])
def test_driver_takes_the_shard_from_the_engine(tmp_path, engine, expected):
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    shown = subprocess.run(["bash", str(DRIVER)], env=driver_env(tmp_path, "echo", **engine),
                           capture_output=True, text=True, check=True).stdout
    k = expected.split("/")[0]
    assert f"--shard {expected}" in shown and f"--out {tmp_path}/out/shard-{k}" in shown


def test_driver_names_a_torchgrade_it_cannot_find_on_the_node(tmp_path):
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    env = driver_env(tmp_path, "no-such-torchgrade", SHARD_INDEX="1", SHARD_COUNT="1")
    shown = subprocess.run(["bash", str(DRIVER)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert shown.returncode == 2 and "no-such-torchgrade: not found on" in shown.stderr
    assert "activate the course's virtualenv before submitting" in shown.stderr


def test_kubernetes_job_runs_the_driver_as_an_indexed_job_of_as_many_shards():
    job = yaml.safe_load((REPO / "examples" / "kubernetes" / "grade-job.yaml").read_text())
    spec = job["spec"]
    container = spec["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert spec["completionMode"] == "Indexed" and int(env["SHARD_COUNT"]) == spec["completions"]
    assert container["command"] == ["examples/slurm/grade_shard.sh"] and os.access(DRIVER, os.X_OK)


@pytest.mark.slow
def test_driver_shards_as_plain_processes_merge_into_the_unsharded_gradebook(tmp_path, plans, server):
    course = small_course(tmp_path / "course")
    sources = {"ann": "solutions", "ben": "examples/bob", "cat": "examples/alice", "dan": "examples/starter",
               "eve": "examples/bob"}
    for name, source in sources.items():
        shutil.copytree(REPO / source, tmp_path / "subs" / name)
    torchgrade = f"{sys.executable} -m grader"
    shards = [subprocess.Popen(["bash", str(DRIVER)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=driver_env(tmp_path, torchgrade, course.file, SLURM_ARRAY_TASK_ID=str(k),
                                                         SLURM_ARRAY_TASK_COUNT="2"))
              for k in (1, 2)]
    for process in shards:
        output, _ = process.communicate(timeout=400)
        assert process.returncode == 0, output
    for k in (1, 2):
        graded = {p.parent.name for p in (tmp_path / "out" / f"shard-{k}").glob("*/results.json")}
        assert graded == {n for n in sources if shard_of(n, 2) == k}
    merged = CliRunner().invoke(main, ["merge", *(str(tmp_path / "out" / f"shard-{k}") for k in (1, 2)),
                                       "--out", str(tmp_path / "out" / "class")])
    assert merged.exit_code == 0, merged.output

    plan = plans(None, True, course)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    clean = [grade_submission(plan, tmp_path / "subs" / name, server, scratch) for name in sources]
    expected = gradebook_csv(clean, [e.id for e in course.exercises])
    assert (tmp_path / "out" / "class" / "gradebook.csv").read_text() == expected


def ungradable_shard(root: Path, k: int, complete: bool) -> Path:
    """A shard whose run ended with one submission graded and one that could not be (its results.json and
    no grading key, as grade writes it)."""
    folder = shard_dir(root, k, [result("ann", {"sigmoid": 10})], count=1, complete=complete)
    eve = SubmissionResult("eve", (ExerciseResult("sigmoid", "sigmoid", (
        CheckResult("values", "values", "error", 0.0, 10.0, "could not be graded"),)),),
        {"error": "work.ipynb: the notebook's cell 2 has metadata that is a list, not an object"})
    write_results(eve, folder)
    write_record(folder, Shard(k, 1), ["ann", "eve"], "course-a", complete=complete, exercise_ids=["sigmoid"])
    return folder


def test_a_submission_that_could_not_be_graded_does_not_hold_back_the_merge(tmp_path):
    folder = ungradable_shard(tmp_path, 1, complete=True)
    outcome = CliRunner().invoke(main, ["merge", str(folder), "--out", str(tmp_path / "class")])
    assert outcome.exit_code == 0, outcome.output
    assert "Could not grade 1: eve" in outcome.output
    rows = (tmp_path / "class" / "gradebook.csv").read_text().splitlines()
    assert any(row.startswith("eve,0") for row in rows) and any(row.startswith("ann,10") for row in rows)
    merged = json.loads((tmp_path / "class" / "eve" / "results.json").read_text())
    assert merged["error"].startswith("work.ipynb")


def test_an_ungradable_submission_in_a_shard_that_did_not_finish_is_still_refused(tmp_path):
    folder = ungradable_shard(tmp_path, 1, complete=False)
    with pytest.raises(ShardError, match="its run did not finish"):
        merge([folder], tmp_path / "class")


def test_driver_ends_well_when_a_submission_could_not_be_graded_and_merge_takes_its_reason(tmp_path):
    course = small_course(tmp_path / "course")
    shutil.copytree(REPO / "solutions", tmp_path / "subs" / "ann")
    (tmp_path / "subs" / "eve").mkdir()
    (tmp_path / "subs" / "eve" / "work.ipynb").write_text(json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
         "cells": [{"cell_type": "code", "metadata": [], "source": "x = 1", "outputs": [], "execution_count": None}]}))
    env = driver_env(tmp_path, f"{sys.executable} -m grader", course.file, SHARD_INDEX="1", SHARD_COUNT="1")
    ran = subprocess.run(["bash", str(DRIVER)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert ran.returncode == 0, ran.stdout + ran.stderr  # Slurm's afterok holds: the merge job starts
    assert "some submissions could not be graded" in ran.stderr
    merged = CliRunner().invoke(main, ["merge", str(tmp_path / "out" / "shard-1"), "--out", str(tmp_path / "class")])
    assert merged.exit_code == 0 and "Could not grade 1: eve" in merged.output, merged.output
    assert "metadata that is an empty list" in json.loads((tmp_path / "class" / "eve" / "results.json").read_text())["error"]
