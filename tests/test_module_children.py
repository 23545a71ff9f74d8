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


def test_lone_submissions_graded_at_once_on_one_pool_each_finish(plans, server, spare, tmp_path):
    """nbgrader's autograde grades several students at once, each a lone submission, on one pool: each may
    borrow only what is idle, so none waits on a server another holds."""
    import threading

    from grader.batch import grade_many
    from grader.intake import Submission
    from grader.pool import WorkerPool

    plan = plans(("sigmoid", "bce_loss"), True)
    pool = WorkerPool.of([server, spare])
    both_hold_one = threading.Barrier(2, timeout=60)
    get = pool.get

    def get_then_wait_for_the_other():  # each grading holds a server before either looks for more
        held = get()
        if not getattr(held_here, "one", False):
            held_here.one = True
            both_hold_one.wait()
        return held

    held_here = threading.local()
    pool.get = get_then_wait_for_the_other
    results: dict[str, object] = {}

    def grade(name: str) -> None:
        (results[name],) = grade_many(plan, [Submission.from_path(REPO / "solutions")], pool=pool)

    threads = [threading.Thread(target=grade, args=(name,), daemon=True) for name in ("ann", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a lone submission waited on a server another held"
    assert len(results) == 2
