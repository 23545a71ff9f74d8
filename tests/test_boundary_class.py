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


@pytest.mark.parametrize("jobs", [1, 2])
def test_twenty_good_submissions_get_their_solo_results_beside_every_kind_of_bad_one(
        small, plans, server, solo, tmp_path, jobs):
    root = tmp_path / "subs"
    goods = {f"s{i:02d}": SOURCES[i % 2] for i in range(20)}
    paths = [good(root, name, source) for name, source in list(goods.items())[:10]]
    for make in BAD_KINDS.values():
        made = make(root)
        paths.append(made.parent if made.suffix == ".ipynb" else made)
    paths += [good(root, name, source) for name, source in list(goods.items())[10:]]
    subs = [Submission.from_path(path, small.modules) for path in paths]
    out = tmp_path / "out"
    pending = find_pending(small, subs, out, options=grading_options(small, hidden=True))
    run = grade_class(plans(None, True, small), pending, out, jobs=jobs, pool=WorkerPool.of([server] * jobs),
                      quiet=True)

    for name, source in goods.items():
        assert without_name(out / name / "results.json") == solo[source], name
    assert without_name(out / "submission-gradebook.csv" / "results.json") == solo["solutions"]
    assert without_name(out / "caf\udce9" / "results.json") == solo["solutions"]
    assert run.ungradable == ["meta-list", "source-numbers"]
    assert {s.name for s in subs} == {r.submission for r in run.results}
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {shown(s.name) for s in subs} and "caf\\xe9" in rows
    for name, source in goods.items():
        assert float(rows[name]["score"]) == solo[source]["score"], name
