"""A class with a bad submission of every kind in the middle: every good neighbour gets its solo result."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from boundary_kit import BAD_KINDS, good
from grader.batch import WorkerPool, find_pending, grade_class, grading_options
from grader.intake import Submission
from grader.text import shown
from grader.run import grade_submission
from grader.spec import load_course
from test_resume import small_course_dir

SOURCES = ("solutions", "examples/bob")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return load_course(small_course_dir(tmp_path_factory.mktemp("small-course")))


@pytest.fixture(scope="module")
def solo(small, plans, server, tmp_path_factory) -> dict[str, dict]:
    """Each good source's results.json graded alone, without its name."""
    root = tmp_path_factory.mktemp("solo")
    (root / "scratch").mkdir()
    out = {}
    for source in SOURCES:
        result = grade_submission(plans(None, True, small), good(root, source.replace("/", "-"), source), server,
                                  root / "scratch").to_json()
        out[source] = {k: v for k, v in result.items() if k != "submission"}
    return out


def without_name(path: Path) -> dict:
    return {k: v for k, v in json.loads(path.read_text()).items() if k != "submission"}


def grade_mixed_class(small, plans, server, solo, tmp_path: Path, goods: int, jobs: int) -> None:
    """`goods` good submissions with a bad one of each kind in the middle: every good one gets its solo result."""
    root = tmp_path / "subs"
    names = {f"s{i:03d}": SOURCES[i % 2] for i in range(goods)}
    half = goods // 2
    paths = [good(root, name, source) for name, source in list(names.items())[:half]]
    for make in BAD_KINDS.values():
        made = make(root)
        paths.append(made.parent if made.suffix == ".ipynb" else made)
    paths += [good(root, name, source) for name, source in list(names.items())[half:]]
    subs = [Submission.from_path(path, small.modules) for path in paths]
    out = tmp_path / "out"
    pending = find_pending(small, subs, out, options=grading_options(small, hidden=True))
    run = grade_class(plans(None, True, small), pending, out, jobs=jobs, pool=WorkerPool.of([server] * jobs),
                      quiet=True)

    for name, source in names.items():
        assert without_name(out / name / "results.json") == solo[source], name
    assert without_name(out / "submission-gradebook.csv" / "results.json") == solo["solutions"]
    assert without_name(out / "caf\udce9" / "results.json") == solo["solutions"]
    assert run.ungradable == ["hoard", "meta-list", "source-numbers"]
    assert {s.name for s in subs} == {r.submission for r in run.results}
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {shown(s.name) for s in subs} and "caf\\xe9" in rows
    for name, source in names.items():
        assert float(rows[name]["score"]) == solo[source]["score"], name


def test_twenty_good_submissions_get_their_solo_results_beside_every_kind_of_bad_one(
        small, plans, server, solo, tmp_path):
    """One job at a time; the class of two hundred below is graded the same way on two jobs at once."""
    grade_mixed_class(small, plans, server, solo, tmp_path, goods=20, jobs=1)


@pytest.mark.slow
def test_a_class_of_two_hundred_with_ten_bad_ones_grades_every_good_one_as_alone(small, plans, server, solo, tmp_path):
    """Two jobs at once: what the class of twenty above proves on one, for a class ten times its size."""
    assert len(BAD_KINDS) == 10
    grade_mixed_class(small, plans, server, solo, tmp_path, goods=190, jobs=2)


def test_the_command_counts_what_it_could_not_grade_and_exits_1(small, tmp_path):
    from click.testing import CliRunner

    from boundary_kit import source_numbers
    from grader.cli import main

    paths = [good(tmp_path / "subs", "ann"), source_numbers(tmp_path / "subs").parent]
    out = tmp_path / "out"
    args = ["grade", *map(str, paths), "--out", str(out), "--course", str(small.file), "--jobs", "1", "--no-progress",
            "--format", "junit", "--format", "gradescope"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Could not grade 1 of 2 submissions: source-numbers" in result.output
    assert "could not be graded" in json.loads((out / "source-numbers" / "gradescope.json").read_text())["output"]
    rerun = CliRunner().invoke(main, args)
    assert "Graded 1, skipped 1 already graded" in rerun.output and rerun.exit_code == 1


def test_a_sandbox_that_refuses_costs_only_that_submission_and_marks_nothing_done(small, plans, server, tmp_path,
                                                                                 monkeypatch):
    import grader.batch as batch
    from grader.resume import SIDECAR
    from grader.sandbox import SandboxRefused
    real = batch.grade_submission

    def grade(plan, submission, *args, **kwargs):
        if submission.name == "ben":
            raise SandboxRefused("CUDA stopped working inside the sandbox during grading")
        return real(plan, submission, *args, **kwargs)

    monkeypatch.setattr(batch, "grade_submission", grade)
    subs = [Submission.from_path(good(tmp_path / "subs", name)) for name in ("ann", "ben")]
    out = tmp_path / "out"
    run = grade_class(plans(None, True, small), find_pending(small, subs, out, options=grading_options(small, hidden=True)),
                      out, jobs=1, pool=WorkerPool.of([server]), quiet=True)
    assert run.ungradable == ["ben"] and not (out / "ben" / SIDECAR).exists() and (out / "ann" / SIDECAR).is_file()
    assert "the machine's doing, not the student's" in json.loads((out / "ben" / "results.json").read_text())["error"]
