"""A submission's modules run in children of their own; with servers to spare (a self-check), several at once.

Whatever runs at once, the result is the one a single server gives: the modules cannot see each other, and
a module whose child crashes costs only its own exercises."""
from __future__ import annotations

import shutil

import pytest

from conftest import REPO
from grader.entry import PRELOAD
from grader.run import grade_submission
from grader.sandbox import ForkServer


@pytest.fixture(scope="module")
def spare():
    with ForkServer(PRELOAD) as server:
        yield server


def graded_both_ways(plans, server, spare, folder, tmp_path, exercises=None):
    plan = plans(exercises, True)
    alone = grade_submission(plan, folder, server, tmp_path)
    beside = grade_submission(plan, folder, server, tmp_path, spares=[spare])
    return alone, beside


def test_modules_run_at_once_give_the_result_one_server_gives(plans, server, spare, tmp_path):
    alone, beside = graded_both_ways(plans, server, spare, REPO / "examples" / "bob", tmp_path)
    assert beside.to_json() == alone.to_json()
    assert beside.details["children"] == alone.details["children"]
    assert (alone.details["servers"], beside.details["servers"]) == (1, 2)


def test_a_module_whose_child_is_killed_costs_only_its_own_exercises_beside_the_others(plans, server, spare,
                                                                                      tmp_path):
    folder = tmp_path / "killer"
    shutil.copytree(REPO / "solutions", folder, ignore=shutil.ignore_patterns("audit"))
    losses = (folder / "losses.py").read_text()
    (folder / "losses.py").write_text(losses.replace("def bce_loss(p, target):", "def bce_loss(p, target):\n"
                                                     "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", 1))
    assert "SIGKILL" in (folder / "losses.py").read_text()
    exercises = ("sigmoid", "bce_loss", "cross_entropy", "relu_over_sigmoid", "kaiming_normal_")
    alone, beside = graded_both_ways(plans, server, spare, folder, tmp_path, exercises)
    assert beside.to_json() == alone.to_json()
    scores = {e.id: (e.score, e.max_score) for e in beside.exercises}
    assert scores["bce_loss"][0] == 0
    assert all(score == most for exercise, (score, most) in scores.items() if exercise != "bce_loss")
