"""Shared fixtures: the repository's course, warm fork servers and plans cached per session.

`grade_files({"activations.py": "..."}, exercises=["sigmoid"])` grades an in-memory submission
through the real sandbox and returns its SubmissionResult; plans and servers are reused, so a
test costs a fork, not an interpreter start.
"""
from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import pytest
import torch

from grader.entry import PRELOAD
from grader.plan import build_plan
from grader.run import grade_submission
from grader.sandbox import ForkServer
from grader.spec import load_course

REPO = Path(__file__).resolve().parents[1]
#: Plans the tests cache go to a folder of this run, not the developer's ~/.cache/torchgrade.
os.environ.setdefault("TORCHGRADE_CACHE_DIR", tempfile.mkdtemp(prefix="torchgrade-test-cache-"))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is false)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def course():
    return load_course(REPO / "course.yaml")


@pytest.fixture(scope="session")
def server():
    with ForkServer(PRELOAD) as warm:
        yield warm


@pytest.fixture(scope="session")
def plans(course, tmp_path_factory):
    cache: dict = {}

    def plan_for(exercises: tuple[str, ...] | None, hidden: bool, the_course=None):
        the_course = the_course or course
        key = (id(the_course), exercises, hidden)
        if key not in cache:
            cache[key] = build_plan(the_course, hidden=hidden, exercises=list(exercises) if exercises else None,
                                    workdir=tmp_path_factory.mktemp("plan"))
        return cache[key]

    return plan_for


@pytest.fixture
def grade_files(plans, server, tmp_path):
    """Write the given files as a submission folder and grade it."""

    def grade(files: dict[str, str], exercises: list[str] | None = None, hidden: bool = True,
              name: str = "student", course=None):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for filename, text in files.items():
            (folder / filename).write_text(textwrap.dedent(text))
        plan = plans(tuple(exercises) if exercises else None, hidden, course)
        scratch = tmp_path / "scratch"
        scratch.mkdir(exist_ok=True)
        return grade_submission(plan, folder, server, scratch)

    return grade


def scores(result) -> dict[str, float]:
    """{exercise id: score}."""
    return {e.id: e.score for e in result.exercises}


def check_of(result, exercise_id: str, check_name: str):
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return next(c for c in exercise.checks if c.name == check_name)


@pytest.fixture(autouse=True)
def _no_deep_tree_left():
    """The 1100-deep folder trees some tests make are removed after each test: pytest's own cleanup of old
    temporary folders (shutil.rmtree, one recursion a level) would fail on them in a later run."""
    yield
    import boundary_kit
    while boundary_kit.MADE_DEEP:
        boundary_kit.remove_deep(boundary_kit.MADE_DEEP.pop())
