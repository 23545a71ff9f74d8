"""The child runs the exercises whose judging draws first (grader/execute.py, grader/judge.py): their judging,
the costliest, then overlaps the child's run of the rest instead of following it. Results keep the course's order."""
from __future__ import annotations

from grader.execute import run_children
from grader.judge import drawn_in_judging
from grader.sandbox import Outcome
from grader.schedule import scheduled_steps

COURSE_ORDER = ("relu", "bce_loss", "plot_activation", "gradient_norms", "zeros_")


class Recorder:
    """A server that runs nothing: it keeps the job it was given."""

    def __init__(self) -> None:
        self.jobs: list = []

    def run(self, job, on_step_done=None, steps=()):
        self.jobs.append(job)
        return Outcome(0, None, (), None, None, "", "", False, 0.0)


def test_the_exercises_whose_judging_draws_run_first_in_the_course_order(plans, tmp_path):
    plan = plans(COURSE_ORDER, False)
    assert [e.id for e in plan.exercises] == list(COURSE_ORDER)
    assert drawn_in_judging(plan) == {"plot_activation", "gradient_norms"}
    server = Recorder()
    (tmp_path / "home").mkdir()
    records, failures, _ = run_children(plan, tmp_path, tmp_path / "home", server, 1, first=drawn_in_judging(plan))
    (job,) = server.jobs
    order = ["plot_activation", "gradient_norms", "relu", "bce_loss", "zeros_"]
    assert job.argument["exercises"] == order
    assert list(job.steps) == scheduled_steps(order, {e.id: e.module for e in plan.exercises}, plan.context.cuda)
    assert records == {} and set(failures) == set(COURSE_ORDER)  # nothing ran: each says so


def test_without_a_first_group_the_child_follows_the_course(plans, tmp_path):
    plan = plans(COURSE_ORDER, False)
    server = Recorder()
    (tmp_path / "home").mkdir()
    run_children(plan, tmp_path, tmp_path / "home", server, 1)
    assert server.jobs[0].argument["exercises"] == list(COURSE_ORDER)
