"""A submission's modules run in children of their own, each within a time budget of its own, so that no
module's verdicts depend on another's: a module whose child is killed, or that spends all its time, costs
only its own exercises, and the modules give one result whichever runs first, or beside another on a
server a self-check lends."""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from conftest import REPO
from grader import execute, wire
from grader.batch import grade_many
from grader.entry import PRELOAD
from grader.intake import Submission
from grader.pool import WorkerPool
from grader.run import grade_submission
from grader.sandbox import ForkServer, Limits, Outcome

#: module → exercises of the fabricated plans below
MODULES = {"activations": ["sigmoid", "tanh"], "losses": ["bce_loss"], "initializers": ["zeros_", "ones_"]}
BUDGET_S = {"activations": 4.0, "losses": 6.0, "initializers": 5.0}


def fabricated_plan():
    return SimpleNamespace(
        limits=lambda threads=1, module=None: Limits(step_s=3.0, total_s=BUDGET_S[module]),
        tasks_file=Path("/dev/null"), course=SimpleNamespace(sandbox=SimpleNamespace(without_landlock=True)),
        context=SimpleNamespace(cuda=False),
        exercises=[SimpleNamespace(id=e, module=m) for m, ids in MODULES.items() for e in ids])


class FakeServer:
    """Runs a job without a process: each exercise saves a record naming it, except those in `hangs`, where
    the child is stopped at the module's budget, as a sleep in every exercise would be."""

    def __init__(self, hangs: frozenset[str] = frozenset(), pause_s: float = 0.0):
        self.hangs, self.pause_s = hangs, pause_s
        self.jobs: list[tuple[tuple[str, ...], float]] = []

    def run(self, job, on_step_done=None, steps=()):
        exercises = tuple(job.argument["exercises"])
        self.jobs.append((exercises, job.limits.total_s))
        out = Path(job.argument["out_dir"])
        out.mkdir(parents=True)
        time.sleep(self.pause_s)  # long enough for a borrowed server to take the next module meanwhile
        done: list[str] = []
        for exercise in exercises:
            if exercise in self.hangs:
                return Outcome(None, 9, tuple(done), exercise, "timeout", "", "", False, wall_s=job.limits.total_s)
            wire.dump({"status": "missing_function", "exercise": exercise}, out / f"{exercise}{wire.SUFFIX}")
            done.append(exercise)
        return Outcome(0, None, tuple(done), None, None, "", "", False, wall_s=0.1)


class OneSpare:
    """A lender with one idle server to lend, once."""

    def __init__(self, spare):
        self.spare, self.lent, self.back = spare, 0, 0

    def borrow(self, wanted):
        if self.lent or not wanted():
            return None
        self.lent += 1
        return self.spare

    def give_back(self, server):
        self.back += 1


def outcome_of(saved, failures, details):
    return ({e: wire.load(file) for e, file in saved.items()}, failures, details["children"], details["stopped"])


def test_a_module_that_spends_all_its_time_costs_no_other_modules_exercise(tmp_path):
    server = FakeServer(hangs=frozenset({"sigmoid"}))
    saved, failures, details = execute.run_children(fabricated_plan(), tmp_path, tmp_path, server, 1)
    assert set(failures) == {"sigmoid", "tanh"}
    assert "activations.py used up the module's time (4 s)" in failures["sigmoid"][1]
    assert "activations.py used up the module's time (4 s) before this exercise ran. sigmoid ran until stopped." \
        in failures["tanh"][1]
    assert set(saved) == {"bce_loss", "zeros_", "ones_"}
    assert server.jobs == [(("sigmoid", "tanh"), 4.0), (("bce_loss",), 6.0), (("zeros_", "ones_"), 5.0)]


def test_the_modules_give_one_result_whichever_runs_first(tmp_path):
    plan = fabricated_plan()
    results = []
    for first in [(), ("zeros_",), ("bce_loss", "ones_")]:
        server = FakeServer(hangs=frozenset({"tanh"}))
        home = tmp_path / str(len(results))
        home.mkdir()
        results.append(outcome_of(*execute.run_children(plan, tmp_path, home, server, 1, first=first)))
        if first:
            assert server.jobs[0][0][0] in first  # a module holding one of `first` started first
    assert results[0] == results[1] == results[2]


def test_modules_beside_each_other_on_a_borrowed_server_give_the_result_one_server_gives(tmp_path):
    plan = fabricated_plan()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    alone = outcome_of(*execute.run_children(plan, tmp_path, tmp_path / "a", FakeServer(frozenset({"tanh"})), 1))
    own, spare = FakeServer(frozenset({"tanh"}), pause_s=0.05), FakeServer(frozenset({"tanh"}), pause_s=0.05)
    lender = OneSpare(spare)
    beside = outcome_of(*execute.run_children(plan, tmp_path, tmp_path / "b", own, 1, lender=lender))
    assert beside == alone
    assert spare.jobs and own.jobs and (lender.lent, lender.back) == (1, 1)  # both ran modules, the spare went back


def test_a_submission_waiting_for_a_server_to_borrow_goes_on_without_one(tmp_path):
    class NoneIdle:
        def borrow(self, wanted):
            while wanted():  # every server busy grading others: it waits only while a module is waiting
                time.sleep(0.005)
            return None

        def give_back(self, server):
            raise AssertionError("nothing was lent")

    server = FakeServer()
    saved, failures, _ = execute.run_children(fabricated_plan(), tmp_path, tmp_path, server, 1, lender=NoneIdle())
    assert set(saved) == {e for ids in MODULES.values() for e in ids} and not failures
    assert len(server.jobs) == 3


def test_a_pool_lends_only_an_idle_server_and_never_waits_once_nothing_is_wanted():
    class Started:
        def start(self):
            return self

    first, second = Started(), Started()
    pool = WorkerPool.of([first, second])
    taken = pool.get()
    lent = pool.borrow(lambda: True)
    assert {id(taken), id(lent)} == {id(first), id(second)}
    wanted = threading.Event()
    wanted.set()
    threading.Timer(0.1, wanted.clear).start()
    assert pool.borrow(wanted.is_set) is None  # none idle: it waited while wanted, then went on
    pool.give_back(lent)
    assert pool.borrow(lambda: False) is None
    assert pool.get() is lent


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

    class Counting:
        def __init__(self, inner):
            self.inner, self.jobs = inner, 0

        def start(self):
            self.inner.start()
            return self

        def run(self, *args, **kwargs):
            self.jobs += 1
            return self.inner.run(*args, **kwargs)

    with ForkServer(PRELOAD) as spare:
        counted = [Counting(server), Counting(spare)]
        (beside,) = grade_many(plan, [Submission.from_path(folder)], pool=WorkerPool.of(counted), self_check=True)
        assert all(c.jobs for c in counted), [c.jobs for c in counted]  # a self-check: its modules beside each other
        lent = [c.jobs for c in counted]
        (in_class,) = grade_many(plan, [Submission.from_path(folder)], pool=WorkerPool.of(counted))
        assert sorted(c.jobs - was for c, was in zip(counted, lent)) == [0, 5]  # a class: one server, in turn
    assert beside.to_json() == in_class.to_json() == result.to_json()  # one result whichever way it ran


def test_checking_some_exercises_gives_them_the_time_a_full_grading_does(plans):
    """A module's time budget counts the course's exercises, not those chosen: `check -k neuron` and the
    bundle's `pytest -k` give neuron what `grade` gives it."""
    some, whole = plans(("neuron", "bce_loss"), False), plans(None, True)
    for module in ("activations", "losses"):
        assert some.limits(module=module).total_s == whole.limits(module=module).total_s
    assert whole.limits(module="activations").total_s == 5 * (12 + 4)  # the course's 12 activations, time_s 5
