"""Executing a submission: the learner's code run against a plan in sandboxed children from a warm fork
server — one child per learner module, each module within a time budget of its own, more children only where
something in one crashes, hangs or leaves its process changed — and the records they saved read back.
Nothing here judges: a caller may judge each exercise as the child reports it saved (judge.EarlyVerdicts)."""
from __future__ import annotations

import collections
import dataclasses
import itertools
import signal as signals
import threading
from pathlib import Path
from typing import Any, Callable, Collection, Mapping, Protocol

from . import wire
from .calls import runs_on_cuda
from .entry import CHILD_TARGET, RUNNING_FILE, RUNNING_WIDTH
from .plan import Plan, exercises_by_module
from .records import Record, is_saved, read_record
from .sandbox import ForkServer, Job, Limits, Outcome, SandboxRefused
from .sandbox.policy import required
from .schedule import scheduled_steps


class Watcher(Protocol):
    """Told of each exercise's record as the child says it has saved it, while the child still runs."""

    def offer(self, exercise_id: str, file: Path) -> None:
        """The file the child says holds `exercise_id`'s record (it may still change)."""

    def record(self, exercise_id: str) -> Record | None:
        """The record read from that file when offered, if any: reading the same bytes again need not
        unpickle them again, nor charge them to the submission's budget a second time."""


def describe_stop(outcome: Outcome, limits: Limits, step: str) -> str:
    """Why the child stopped, in a student's words."""
    subject = f"Importing {step.split(':', 1)[1]}.py" if step.startswith("import:") else "Your function"
    if outcome.reason == "step_cpu":
        return (f"{subject} computed for more than {limits.step_cpu_s:g} s (CPU time) and was stopped. Look for an "
                f"endless loop, or for work that grows much faster than the input.")
    if outcome.reason == "timeout":
        return (f"{subject} ran for more than {limits.step_s:g} s and was stopped. Look for an endless loop, "
                f"for waiting (sleep, input(), a lock), or for work that grows much faster than the input.")
    if outcome.reason == "processes":
        return (f"{subject} started more processes than the limit allows ({limits.processes}) and was stopped. "
                f"Grading needs no subprocesses or multiprocessing: compute in the function itself.")
    if outcome.reason == "cpu":
        return f"{subject} used more CPU time than the limit allows and was stopped."
    if outcome.reason == "signal":
        name = signals.Signals(outcome.signal).name if outcome.signal else "a signal"
        extra = {"SIGKILL": " (killed: it may have used more memory than allowed, or killed itself)",
                 "SIGSEGV": " (a crash: segmentation fault)", "SIGABRT": " (aborted)"}.get(name, "")
        return f"{subject} stopped the process running it with {name}{extra}."
    if outcome.reason == "exit":
        code = outcome.exit_code
        return (f"{subject} ended the process (exit code {code}) — sys.exit, os._exit or exit() in your code? "
                f"Remove it: return a value instead.")
    return "The grader's sandbox failed while running your code; this is not your fault — tell your teacher."



class Lender(Protocol):
    """Idle fork servers a lone submission may borrow (a self-check's spares), to run modules beside its own."""

    def borrow(self, wanted: Callable[[], bool]) -> ForkServer | None:
        """An idle server, waiting for one while `wanted()` holds; None once it does not."""

    def give_back(self, server: ForkServer) -> None:
        """Hand a borrowed server back."""


def run_children(plan: Plan, staged: Path, home: Path, server: ForkServer, threads: int,
                 early: Watcher | None = None, first: Collection[str] = (), lender: Lender | None = None
                 ) -> tuple[dict[str, Path], dict[str, tuple[str, str]], dict[str, Any]]:
    """Run the submission's exercises in a child per learner module, and as many more as stops make necessary;
    `early` is offered each exercise a child says it has saved, while it runs. Modules holding an exercise
    of `first` start first (those whose judging takes longest, so that it overlaps the other modules'
    children); with a `lender`, a module may run on a borrowed server beside another. Returns the file
    each exercise's record was saved in (to read with read_saved once this returns), each exercise's
    failure that left no record (status, message), and the run's details for results.json.

    Each module has a time budget of its own (Plan.limits) and children of its own, and each record is read
    with a memory budget of its own (read_saved), so no module's verdicts depend on which modules ran before
    it or beside it: every order gives one result."""
    run = _Run(plan, staged, home, threads, early)
    groups = exercises_by_module(plan.exercises)
    waiting = collections.deque(sorted(groups.values(), key=lambda ids: not any(e in first for e in ids)))
    taking = threading.Lock()

    def work(own: ForkServer) -> None:
        while True:
            with taking:
                if not waiting:
                    return
                exercises = waiting.popleft()
            run.module(exercises, own)

    problems: list[BaseException] = []

    def beside() -> None:
        assert lender is not None
        spare = lender.borrow(lambda: bool(waiting))
        if spare is None:
            return
        try:
            work(spare)
        except BaseException as exc:  # a refused sandbox: raised in the caller's thread, as on one server
            problems.append(exc)
        finally:
            lender.give_back(spare)

    helper = threading.Thread(target=beside, name="torchgrade-module", daemon=True) \
        if lender is not None and len(waiting) > 1 else None
    if helper is not None:
        helper.start()
    try:
        work(server)
    except BaseException:
        with taking:
            waiting.clear()  # the borrowed server starts nothing more
        raise
    if helper is not None:
        helper.join()
    if problems:
        raise problems[0]
    run.details["stopped"] = [stop for ids in groups.values() for stop in run.stopped.get(ids[0], [])]
    return run.saved, run.failures, run.details


def read_saved(exercise_id: str, saved: Mapping[str, Path], failures: dict[str, tuple[str, str]],
               early: Watcher | None) -> Record | None:
    """The exercise's record, if its child saved one, read once every child has ended with a memory budget of
    its own (wire.MAX_COST): what one exercise returns costs only that exercise, whatever the others return,
    in whatever order they are read. A record that cannot be read becomes the exercise's failure."""
    file = saved.get(exercise_id)
    if file is None:
        return None
    try:
        return read_record(file, early and early.record(exercise_id), wire.Budget())
    except wire.TooLarge:
        failures[exercise_id] = ("error", f"Your results were too large for the grader to read (more than "
                                          f"{wire.MAX_COST // 2**20} MB for this exercise). Return tensors rather "
                                          f"than long Python lists, and only what is asked.")
    except Exception:
        failures[exercise_id] = ("error", "The grader could not read the results of this exercise "
                                          "(did your code write into the grader's files?).")
    return None


class _Run:
    """One submission's children: what they saved, why any stopped, and each module's time budget."""

    def __init__(self, plan: Plan, staged: Path, home: Path, threads: int, early: Watcher | None):
        self.plan, self.staged, self.home, self.early, self.threads = plan, staged, home, early, threads
        self.saved: dict[str, Path] = {}  # the file each exercise's record is in, read once every child has ended
        self.failures: dict[str, tuple[str, str]] = {}
        self.details: dict[str, Any] = {"children": 0, "wall_s": 0.0, "stopped": [], "output_truncated": False}
        self.stopped: dict[str, list[dict[str, str]]] = {}  # by the module's first exercise
        self.by_module = {e.id: e.module for e in plan.exercises}
        self.lock = threading.Lock()  # two modules' children may end at once

    def module(self, remaining: list[str], server: ForkServer) -> None:
        """Run one module's exercises, in as many children as stops make necessary, within the module's budget.

        One wall-clock budget covers every child a crash or a hang makes necessary: a module that sleeps in
        every exercise holds its worker for its budget, not n times that. What counts is each child's own
        time as the server measured it: the grader's judging while a child runs (and its reading between
        children) is not the learner's."""
        plan, failures, details = self.plan, self.failures, self.details
        module = self.by_module[remaining[0]]
        limits = plan.limits(self.threads, module)
        stopped = self.stopped.setdefault(remaining[0], [])
        used, children = 0.0, 0
        while remaining:
            left = limits.total_s - used
            if left < 1.0:
                spent = ["the import" if stop["step"].startswith("import:") else stop["step"]
                         for stop in stopped if stop["reason"] in ("timeout", "step_cpu", "cpu")]
                by = f" {', '.join(spent)} ran until stopped." if spent else ""
                for exercise_id in remaining:
                    failures[exercise_id] = ("error", f"Your code in {module}.py used up the module's time "
                                                      f"({limits.total_s:g} s) before this exercise ran.{by}")
                return
            batch = child_batch(plan, remaining)
            cuda = starts_cuda(plan, batch)
            children += 1
            work = self.home / f"{module}-{children}"  # named by what it runs, never by when: the same in any order
            work.mkdir()
            out_dir = work / "out"
            job = Job(CHILD_TARGET, {"submission_dir": str(self.staged), "tasks_file": str(plan.tasks_file),
                                     "out_dir": str(out_dir), "exercises": batch, "cuda": cuda},
                      workdir=str(work), limits=dataclasses.replace(limits, total_s=left),
                      readable=(str(self.staged), str(plan.tasks_file)),
                      require=required(plan.course.sandbox), gpu=cuda,
                      prepare=("grader.child:load_tasks", str(plan.tasks_file)),
                      steps=tuple(scheduled_steps(batch, self.by_module, cuda)),
                      # absolute: the fork server resolves paths from its own working folder, not the grader's
                      hidden=tuple(str(Path(root).resolve()) for root in [getattr(plan.course, "root", None)] if root))
            early = self.early
            outcome = server.run(job, None if early is None else
                                 (lambda step, out=out_dir: early.offer(step, out / f"{step}{wire.SUFFIX}")),
                                 steps=batch)
            if outcome.reason == "refused":
                raise SandboxRefused(outcome.stderr)
            if outcome.failed_step == "start:cuda":  # before any learner code ran: the machine's fault, never theirs
                last = (outcome.stderr or "").strip().splitlines()[-1:] or [str(outcome.reason)]
                raise SandboxRefused(f"CUDA stopped working inside the sandbox during grading ({last[0]}). Grade "
                                     f"again, or without the GPU: TORCHGRADE_NO_CUDA=1 (see docs/explanation/gpu.md).")
            used += outcome.wall_s
            with self.lock:
                details["children"] += 1
                details["wall_s"] += outcome.wall_s
                details["output_truncated"] |= outcome.output_truncated
                details["confinement"] = list(outcome.confinement)
            for exercise_id in batch:
                file = out_dir / f"{exercise_id}{wire.SUFFIX}"
                if is_saved(file):
                    self.saved[exercise_id] = file
            before = len(remaining)
            remaining = [e for e in remaining if e not in self.saved]
            if not remaining:
                return
            if outcome.ok:
                # The child ended before the rest of the module: after an exercise that left the process
                # changed (child.main), or because the learner's code ended it. The rest in a fresh child;
                # where nothing was saved meanwhile, the first exercise left is the one that ended it.
                if len(remaining) < before:
                    continue
                outcome = dataclasses.replace(outcome, reason="exit")
            step = outcome.failed_step or remaining[0]
            message = describe_stop(outcome, limits, step) + running_case(plan, step, out_dir)
            if outcome.reason == "timeout" and outcome.wall_s >= left - 0.5:  # the module's budget, not the step's
                message = (f"Your code in {module}.py used up the module's time ({limits.total_s:g} s) while this "
                           f"ran: the exercises of {module}.py before it, or this one, spent the rest (waiting, "
                           f"sleeping or computing). Look for sleeps, input(), endless loops or work that grows "
                           f"much faster than the input.")
            stopped.append({"step": step, "reason": outcome.reason})
            if step.startswith("import:"):
                for exercise_id in remaining:
                    failures[exercise_id] = ("error", message)
            elif step in remaining:
                failures[step] = ("error", message)
            remaining = [e for e in remaining if e not in self.saved and e not in failures]
            if len(remaining) == before:  # no progress: blame the next exercise so the loop ends
                failures[remaining[0]] = ("error", message)
                remaining = remaining[1:]


def running_case(plan: Plan, exercise_id: str, out_dir: Path) -> str:
    """' It was stopped in the values check, on the case x: float32 (16, 32) on cpu.' where the child's note of the call it
    was running (child.RUNNING_FILE) names one of the exercise's calls; else ''. The note is the child's,
    so untrusted: read bounded, and only a key of this exercise's calls is believed (a forged one can only
    change this exercise's own words)."""
    try:
        with open(out_dir / RUNNING_FILE, "rb") as handle:
            note = handle.read(RUNNING_WIDTH + 1)
    except OSError:
        return ""
    if len(note) > RUNNING_WIDTH:
        return ""
    noted_exercise, key, part = (note.decode("utf-8", "replace").rstrip(" ").split("\t") + ["", ""])[:3]
    if noted_exercise != exercise_id:
        return ""
    for prepared in plan.prepared.get(exercise_id, ()):
        for case, call in zip(prepared.cases, prepared.calls):
            if call["key"] == key:
                return f" It was stopped in the {prepared.check.label} check, on the case {case.label}{_part_words(call, part)}."
    return ""


def _part_words(call: dict[str, Any], part: str) -> str:
    """', in the grader's second run of it on contiguous copies of the same numbers' and the like, for the
    part of a call the child noted (grader.calls.note_part); '' for an unknown or forged one."""
    options = call.get("options") or {}
    kind, _, index = part.partition(":")
    if part == "contiguous":
        return ", in the grader's second run of it, on contiguous copies of the same numbers"
    if part == "again":
        return ", in its second call with the same arguments (to see that the numbers repeat)"
    if kind in ("changed", "plot") and index.isdigit():
        runs = options.get("changes" if kind == "changed" else "plot") or []
        if int(index) < len(runs) and isinstance(runs[int(index)], dict):
            given = ", ".join(f"{name}={value!r}" for name, value in runs[int(index)].items())
            return f", in the call with {given} {'instead' if kind == 'changed' else 'made to draw its picture'}"
    return ""


def child_batch(plan: Plan, remaining: list[str]) -> list[str]:
    """The exercises of `remaining` the next child runs: all of them, each in a copy of the child as the module's
    import left it (child.in_a_copy). A child that starts CUDA cannot be copied, so there an exercise with calls
    on the GPU has a child of its own, and the exercises before the next such one share a child."""
    if starts_cuda(plan, remaining[:1]):
        return remaining[:1]
    return list(itertools.takewhile(lambda exercise_id: not starts_cuda(plan, [exercise_id]), remaining))


def starts_cuda(plan: Plan, exercises: list[str]) -> bool:
    """Whether the child for `exercises` starts CUDA first: only where one of their calls runs on the GPU,
    since each child that starts it pays for a context of its own."""
    return plan.context.cuda and any(runs_on_cuda(call) for exercise_id in exercises
                                     for prepared in plan.prepared[exercise_id] for call in prepared.calls)
