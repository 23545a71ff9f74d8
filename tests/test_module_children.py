"""A submission's modules run in children of their own, one after another: a module whose child is killed
costs only its own exercises, and every module is graded as its own import leaves the process."""
from __future__ import annotations

import shutil

from conftest import REPO
from grader.run import grade_submission


def test_a_module_whose_child_is_killed_costs_only_its_own_exercises(plans, server, tmp_path):
    folder = tmp_path / "killer"
    shutil.copytree(REPO / "solutions", folder, ignore=shutil.ignore_patterns("audit"))
    losses = (folder / "losses.py").read_text()
    (folder / "losses.py").write_text(losses.replace("def bce_loss(p, target):", "def bce_loss(p, target):\n"
                                                     "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", 1))
    assert "SIGKILL" in (folder / "losses.py").read_text()
    plan = plans(("sigmoid", "bce_loss", "cross_entropy", "relu_over_sigmoid", "kaiming_normal_"), True)
    result = grade_submission(plan, folder, server, tmp_path)
    scores = {e.id: (e.score, e.max_score) for e in result.exercises}
    assert scores["bce_loss"][0] == 0
    assert all(score == most for exercise, (score, most) in scores.items() if exercise != "bce_loss")
    assert result.details["children"] == 5  # one per module, and one more for the rest of losses.py
