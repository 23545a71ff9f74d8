"""The clocks and limits of a job are the grader's: a child cannot restart them, escape them or inherit others.

A step starts only when the child announces the next step the grader scheduled, each once, in order:
the learner's code can write on the events channel too (it finds the descriptor), and a forged
"step started" line must not restart its clock. The CPU time of all a job's processes together is
capped. A child's rlimits come from the job, not from its fork server.
"""
from __future__ import annotations

import json
import os
import resource
import textwrap
import time
from pathlib import Path

import pytest

from grader.sandbox import ForkServer, Job, Limits
from grader.sandbox import confine
from grader.sandbox.server import EVENTS_PER_STEP, MAX_EVENT_LINE, UNSCHEDULED_EVENTS, EventLines
from grader.schedule import scheduled_steps

STEPS = "grader.sandbox.selftest:run_steps"

#: Spins for `seconds` of CPU, and every tenth of a second writes, on the events channel it finds in its
#: caller's frame, the lines that would restart its step's clock if the server believed them.
FORGER = """
import os, resource, sys
_events = sys._getframe(1).f_locals["steps"]._fd  # the harness's Steps, one frame up
def _cpu():
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime
_start = _cpu()
_next = 0.0
while _cpu() - _start < {seconds}:
    if _cpu() - _start > _next:
        os.write(_events, {lines!r})
        _next += 0.1
print("finished")
"""


def _job(work: Path, steps: dict[str, str], limits: Limits, schedule: tuple[str, ...]) -> Job:
    return Job(STEPS, {"steps": {k: textwrap.dedent(v) for k, v in steps.items()}}, workdir=str(work),
               limits=limits, steps=schedule)


@pytest.mark.parametrize("lines", [b"S a\n", b"D a\nS a\n", b"D a\nS b\nD b\nS a\n", b"S b\n" * 3 + b"S c\n"],
                         ids=["restart", "done-then-restart", "later-then-back", "skip-ahead"])
def test_a_forged_step_start_does_not_restart_the_clock(server, tmp_path, lines):
    """1.4 s of CPU against a 0.5 s limit per step, announcing steps all along: stopped, never finished. (The
    child's own CPU limit, the steps' 1.5 s and a second, lets the forger finish if a forged start were believed.)"""
    work = tmp_path / "job"
    work.mkdir()
    job = _job(work, {"a": FORGER.format(seconds=1.4, lines=lines), "b": "pass", "c": "pass"},
               Limits(step_s=60, step_cpu_s=0.5, total_s=60), ("a", "b", "c"))
    outcome = server.run(job)
    assert outcome.reason in ("step_cpu", "cpu"), outcome
    assert "finished" not in outcome.stdout


def test_steps_announced_as_scheduled_run_to_the_end(server, tmp_path):
    """The same job with honest steps, each under its limit, ends normally with every step done."""
    work = tmp_path / "job"
    work.mkdir()
    spin = FORGER.format(seconds=0.3, lines=b"")
    outcome = server.run(_job(work, {"a": spin, "b": spin, "c": "pass"}, Limits(step_s=60, step_cpu_s=1, total_s=60),
                              ("a", "b", "c")))
    assert outcome.ok, outcome.stderr
    assert outcome.steps_done == ("a", "b", "c")


def test_a_step_the_grader_did_not_schedule_never_starts(server, tmp_path):
    """A child announcing a step again, or one never scheduled, or the end of a step that is not running,
    is not believed: a crash is blamed on the step the grader knows is running."""
    work = tmp_path / "job"
    work.mkdir()
    crash = "import os\nos.write(__import__('sys')._getframe(1).f_locals['steps']._fd, b'D a\\nS a\\nS z\\nD z\\n')\nos._exit(3)\n"
    outcome = server.run(_job(work, {"a": "pass", "b": crash, "c": "pass"}, Limits(step_s=60, total_s=60),
                              ("a", "b", "c")))
    assert outcome.reason == "exit"
    assert outcome.failed_step == "b"
    assert outcome.steps_done == ("a",)


def test_the_cpu_of_all_a_jobs_processes_together_is_capped(server, tmp_path):
    """Four processes of 1.2 s each stay under a per-process limit of 2 s; together they pass the job's 2 s."""
    work = tmp_path / "job"
    work.mkdir()
    source = """
import os, resource
def spin(seconds):
    while resource.getrusage(resource.RUSAGE_SELF).ru_utime < seconds:
        pass
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        spin(1.2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("finished")
"""
    outcome = server.run(_job(work, {"a": source}, Limits(step_s=60, total_s=60, cpu_s=2), ("a",)))
    assert outcome.reason == "cpu", outcome
    assert "finished" not in outcome.stdout


def test_a_jobs_cpu_is_capped_at_the_sum_of_its_steps_limits():
    limits = Limits(step_cpu_s=2.5, total_s=600).to_json()
    assert confine.total_cpu_seconds(limits, ["import:activations", "sigmoid", "tanh"]) == 7.5
    assert confine.cpu_seconds(limits, ["import:activations", "sigmoid", "tanh"]) == 8  # and one to start
    assert confine.total_cpu_seconds(limits, []) is None


def test_the_grader_schedules_the_steps_the_child_announces():
    module_of = {"sigmoid": "activations", "relu": "extras", "tanh": "activations"}
    assert scheduled_steps(["sigmoid", "relu", "tanh"], module_of, cuda=True) == [
        "start:cuda", "import:activations", "sigmoid", "import:extras", "relu", "tanh"]


def test_a_grading_child_announces_exactly_the_scheduled_steps(grade_files):
    """The real harness, graded: every exercise's step was believed (it is done), none was refused."""
    from test_sandbox_course import EXERCISES, submission, write_course
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        tiny = write_course(Path(folder))
        result = grade_files(submission(), exercises=EXERCISES, course=tiny)
    assert result.details["stopped"] == []
    assert result.details["children"] == 2  # one per module: activations, extras


@pytest.fixture
def lowered_server():
    """A fork server whose own limits someone lowered after it started (as a child could, before)."""
    server = ForkServer(()).start()
    pid = server._process.pid
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    resource.prlimit(pid, resource.RLIMIT_CPU, (3600, 3600))
    yield server
    server.close()


def _may_raise_hard_limits() -> bool:
    """CAP_SYS_RESOURCE, which root lacks in many containers (and on this project's own machine)."""
    effective = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("CapEff"))
    return bool(int(effective.split()[1], 16) >> 24 & 1)


@pytest.mark.skipif(not _may_raise_hard_limits(), reason="raising a hard limit above the server's needs CAP_SYS_RESOURCE")
def test_a_childs_limits_come_from_the_job_not_from_its_server(lowered_server, tmp_path):
    work = tmp_path / "job"
    work.mkdir()
    source = """
import json, resource
with open("four-mb.bin", "wb") as f:
    f.write(b"\\0" * (4 << 20))
print(json.dumps({"fsize": resource.getrlimit(resource.RLIMIT_FSIZE), "cpu": resource.getrlimit(resource.RLIMIT_CPU)}))
"""
    outcome = lowered_server.run(Job("grader.sandbox.selftest:run_source", {"source": source}, workdir=str(work),
                                     limits=Limits(file_mb=8, total_s=5000)))
    assert outcome.ok, outcome.stderr
    seen = json.loads(outcome.stdout.strip().splitlines()[-1])
    assert seen["fsize"] == [8 << 20, 8 << 20]
    assert seen["cpu"][0] >= 5000  # the job's, not the server's 3600
    assert (work / "four-mb.bin").stat().st_size == 4 << 20


#: Writes 16 MB on the events channel: a line that never ends, or event lines by the hundred thousand.
FLOODER = """
import os, sys
_events = sys._getframe(1).f_locals["steps"]._fd
for _ in range(16 * 2**20 // len({chunk!r})):
    os.write(_events, {chunk!r})
print("finished")
"""


@pytest.mark.parametrize("chunk", [b"x" * 65536, b"D b\n" * 4096], ids=["endless-line", "many-lines"])
def test_flooding_the_events_channel_costs_the_child_not_the_server(server, tmp_path, chunk):
    """The server stops reading a flooded channel (its time is not the child's to spend); the child's clock stops it."""
    work = tmp_path / "job"
    work.mkdir()
    job = _job(work, {"a": FLOODER.format(chunk=chunk), "b": "pass"},
               Limits(step_s=5, step_cpu_s=10, total_s=60), ("a", "b"))
    outcome = server.run(job)
    # read to its end, the channel would take the 16 MB in a moment and the child would finish; unread, the
    # child blocks on the full pipe until its step's clock stops it
    assert outcome.reason == "timeout" and "finished" not in outcome.stdout, outcome


def test_a_flood_in_the_same_read_as_the_childs_own_events_keeps_them():
    """The child's "confined" and "step started" lines count even when a forged flood arrives with them in one
    read (a busy server reads late): otherwise the step's clock would never start and the flood would run to
    the start-up limit."""
    events = EventLines(most=EVENTS_PER_STEP * 4)
    lines = events.feed(b"C seccomp\nS a\n" + b"D b\n" * 16384)
    assert events.flooded
    assert lines[:2] == ["C seccomp", "S a"] and len(lines) == EVENTS_PER_STEP * 4
    assert events.feed(b"S b\n") == []  # read no more


def test_an_endless_event_line_floods_the_channel_and_whole_lines_before_it_count():
    events = EventLines(most=UNSCHEDULED_EVENTS)
    assert events.feed(b"C seccomp\nS a\nD a\nS b") == ["C seccomp", "S a", "D a"]
    assert events.feed(b"\n") == ["S b"]
    assert events.feed(b"x" * (MAX_EVENT_LINE + 1)) == [] and events.flooded
