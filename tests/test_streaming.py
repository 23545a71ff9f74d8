"""Judging while the child runs: the server relays each finished step, and early verdicts are only a cache.

An early verdict must never differ from judging the child's files once it has ended: the learner's code
shares the child with the grader's, so it can announce steps and rewrite files too.
"""
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from grader import execute, judge, wire
from grader.records import Record, read_record
from grader.sandbox import Job

STEPS = "grader.sandbox.selftest:run_steps"

SOLUTION_ACTIVATIONS = (Path(__file__).resolve().parents[1] / "solutions" / "activations.py").read_text()


def steps_job(tmp_path: Path, steps: dict[str, str]) -> Job:
    work = tmp_path / f"job{time.monotonic_ns()}"
    work.mkdir()
    return Job(STEPS, {"steps": {name: textwrap.dedent(source) for name, source in steps.items()}}, workdir=str(work))


def test_each_finished_step_is_heard_while_the_child_goes_on(server, tmp_path):
    heard: list[tuple[str, float]] = []
    started = time.monotonic()
    outcome = server.run(steps_job(tmp_path, {"first": "x = 1", "second": "import time; time.sleep(1.5)"}),
                         on_step_done=lambda step: heard.append((step, time.monotonic())), steps=["first", "second"])
    ended = time.monotonic()
    assert outcome.ok and outcome.steps_done == ("first", "second")
    assert [step for step, _ in heard] == ["first", "second"]
    assert ended - heard[0][1] > 1.0  # "first" came while "second" was still sleeping
    assert heard[0][1] - started < ended - started - 1.0


def test_only_the_steps_asked_for_are_relayed_and_each_once(server, tmp_path):
    forge = """
        import gc
        steps = next(o for o in gc.get_objects() if type(o).__name__ == "Steps")
        for i in range(1_000):  # forged: more than a pipe holds, were they all relayed (and fewer than a flood)
            steps.done("first")
            steps.done(f"forged{i}" + "x" * 200)
    """
    heard: list[str] = []
    outcome = server.run(steps_job(tmp_path, {"first": "x = 1", "second": forge, "third": "y = 2"}),
                         on_step_done=heard.append, steps=["first", "second", "third", "never"])
    assert outcome.ok
    assert heard == ["first", "second", "third"]


def test_a_listener_that_fails_leaves_the_server_ready_for_the_next_job(server, tmp_path):
    def broken(step: str) -> None:
        raise ValueError("listener bug")

    with pytest.raises(ValueError, match="listener bug"):
        server.run(steps_job(tmp_path, {"a": "x = 1", "b": "y = 2"}), on_step_done=broken, steps=["a", "b"])
    outcome = server.run(steps_job(tmp_path, {"c": "z = 3"}))  # the earlier job's lines were all read
    assert outcome.ok and outcome.steps_done == ("c",)


def test_right_work_is_judged_while_the_child_runs(grade_files, monkeypatch):
    used = []
    verdict = judge.EarlyVerdicts.verdict

    def counting(self, exercise_id, final):
        found = verdict(self, exercise_id, final)
        used.append((exercise_id, found is not None))
        return found

    monkeypatch.setattr(judge.EarlyVerdicts, "verdict", counting)
    result = grade_files({"activations.py": SOLUTION_ACTIVATIONS}, exercises=["sigmoid", "tanh", "relu"])
    assert result.score == result.max_score
    assert dict(used) == {"sigmoid": True, "tanh": True, "relu": True}


def test_a_later_exercise_cannot_spoil_a_record_judged_already(grade_files):
    """tanh runs after sigmoid, whose record has been judged (as passing) by then, and writes over that file.
    Each exercise's copy may change files only in the learner's folders (Landlock): the record stays as it
    was. Where no Landlock confines the child, the record is spoiled, and judged again from what is left."""
    spoiling = SOLUTION_ACTIVATIONS + textwrap.dedent("""

        _right_tanh = tanh
        def tanh(x):
            import os
            from pathlib import Path
            for record in (Path(os.environ["HOME"]) / "out").glob("sigmoid.*"):
                try:
                    record.write_bytes(b"not a record")
                except OSError:
                    pass
            return _right_tanh(x)
    """)
    result = grade_files({"activations.py": spoiling}, exercises=["sigmoid", "tanh"])
    sigmoid = next(e for e in result.exercises if e.id == "sigmoid")
    if "landlock-fs" in result.details["confinement"]:
        assert sigmoid.score == sigmoid.max_score
    else:
        assert sigmoid.score == 0
        assert all(c.status == "error" and "could not read the results" in c.feedback for c in sigmoid.checks)


def test_an_early_verdict_is_used_only_for_the_very_bytes_it_judged(plans, tmp_path):
    plan = plans(("sigmoid",), False)
    early = judge.EarlyVerdicts(plan, pictures_of_passing_work=False)
    record = {"status": "missing_function"}
    file = tmp_path / f"sigmoid{wire.SUFFIX}"
    wire.dump(record, file)
    early.offer("sigmoid", file)
    early.offer("not_an_exercise", file)
    same = Record(file.read_bytes(), record)
    assert early.verdict("sigmoid", same) is not None
    assert early.verdict("sigmoid", Record(wire.dumps({"status": "ok", "results": {}}), {})) is None
    assert early.verdict("sigmoid", None) is None
    assert early.verdict("not_an_exercise", same) is None


def test_a_named_pipe_in_place_of_a_record_cannot_make_the_grader_wait(tmp_path):
    import os
    fifo = tmp_path / f"sigmoid{wire.SUFFIX}"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer that never comes
    assert read_record(fifo) is None
    link = tmp_path / f"tanh{wire.SUFFIX}"
    target = tmp_path / "elsewhere.data"
    wire.dump({"status": "missing_function"}, target)
    link.symlink_to(target)
    assert read_record(link) is None
    assert read_record(target).data == {"status": "missing_function"}
    assert read_record(tmp_path / "missing.data") is None


def test_bytes_read_again_unchanged_are_not_unpickled_again(tmp_path):
    file = tmp_path / f"sigmoid{wire.SUFFIX}"
    wire.dump({"status": "missing_function"}, file)
    first = read_record(file)
    assert read_record(file, first) is first
    wire.dump({"status": "missing_module"}, file)
    again = read_record(file, first)
    assert again is not first and again.data == {"status": "missing_module"}


def test_time_the_grader_spends_judging_is_not_taken_from_the_learners_budget(tmp_path):
    """A child saves a, then crashes in b; judging a early takes a second; the retry still gets what
    the learner's own child left of the budget."""
    from types import SimpleNamespace
    from grader.sandbox import Limits, Outcome

    limits = Limits(step_s=5, total_s=4.0)
    plan = SimpleNamespace(limits=lambda threads, module=None: limits, tasks_file=Path("/dev/null"),
                           exercises=[SimpleNamespace(id=i, module="m") for i in ("a", "b", "c")],
                           course=SimpleNamespace(sandbox=SimpleNamespace(without_landlock=True)),
                           context=SimpleNamespace(cuda=False))

    class CrashingAfterA:
        def __init__(self):
            self.budgets: list[float] = []

        def run(self, job, on_step_done=None, steps=()):
            self.budgets.append(job.limits.total_s)
            out = Path(job.argument["out_dir"])
            out.mkdir(parents=True)
            if len(self.budgets) == 1:
                wire.dump({"status": "missing_function"}, out / f"a{wire.SUFFIX}")
                on_step_done("a")
                return Outcome(None, 11, ("a",), "b", "signal", "", "", False, wall_s=2.5)
            wire.dump({"status": "missing_function"}, out / f"c{wire.SUFFIX}")
            return Outcome(0, None, ("c",), None, None, "", "", False, wall_s=0.1)

    class SlowJudge(judge.EarlyVerdicts):
        def offer(self, exercise_id, file):
            time.sleep(1.0)

    server = CrashingAfterA()
    saved, failures, _ = execute.run_children(plan, tmp_path, tmp_path, server, 1, SlowJudge(plan, False))
    assert server.budgets == [4.0, 1.5]  # 4 s less the 2.5 s the first child ran, judging not counted
    assert "c" in saved and "b" in failures


def test_an_interrupt_in_the_listener_leaves_no_reply_for_the_next_job(tmp_path):
    from grader.entry import PRELOAD
    from grader.sandbox import ForkServer

    def interrupted(step: str) -> None:
        raise KeyboardInterrupt

    with ForkServer(PRELOAD) as own:
        with pytest.raises(KeyboardInterrupt):
            own.run(steps_job(tmp_path, {"a": "x = 1", "b": "import time; time.sleep(0.5)"}),
                    on_step_done=interrupted, steps=["a", "b"])
        outcome = own.run(steps_job(tmp_path, {"c": "z = 3"}))  # a fresh server, not the old job's reply
        assert outcome.ok and outcome.steps_done == ("c",)


def test_a_record_that_cannot_be_opened_is_reported_as_unreadable_not_missing(tmp_path, monkeypatch):
    import errno
    import os
    file = tmp_path / f"sigmoid{wire.SUFFIX}"
    wire.dump({"status": "missing_function"}, file)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")  # chmod 000, for a grader not running as root

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError):
        read_record(file)


def test_judging_early_never_holds_back_the_thread_that_listens_to_the_server(tmp_path, monkeypatch):
    """A picture drawn while judging takes a few tenths of a second: the listener hands the exercise to the
    judging thread and returns, so the server's next child starts at once; the verdict waits for it."""
    import threading
    from types import SimpleNamespace

    release = threading.Event()
    judged: list[str] = []

    def slow_judge(plan, exercise, record, failure, pictures):
        release.wait(10)
        judged.append(exercise.id)
        return f"verdict of {exercise.id}"

    monkeypatch.setattr(judge, "judge_exercise", slow_judge)
    file = tmp_path / f"relu{wire.SUFFIX}"
    wire.dump({"status": "missing_function"}, file)
    early = judge.EarlyVerdicts(SimpleNamespace(exercises=[SimpleNamespace(id="relu")]), False)  # type: ignore[arg-type]
    try:
        early.offer("relu", file)
        assert judged == []  # the listener is back before judging has ended
        release.set()
        final = read_record(file)
        assert early.verdict("relu", final) == "verdict of relu" and judged == ["relu"]
    finally:
        early.close()
