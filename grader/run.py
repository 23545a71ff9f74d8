"""One grading: plan → sandbox → checks → scores. The only module where the stages meet.

A Plan is built once per course (cases, the child's calls, expected values from the
reference) and reused for every submission; grading a submission is then one sandboxed child
(more only if something in it crashes or hangs) plus judging plain data.
"""
from __future__ import annotations

import dataclasses
import errno
import functools
import os
import shutil
import signal as signals
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import wire
from .checks import KINDS, CaseVerdict, Context, Prepared, drawing
from .checks.mistakes import MistakeOutputs, matching_mistake, mistake_outputs
from .intake import Submission, stage_submission, unread_module
from .entry import CHILD_TARGET, PRELOAD
from .sandbox import ForkServer, Job, Limits, Outcome, SandboxRefused, gpu
from .sandbox.policy import required
from .schedule import scheduled_steps
from .scoring import CheckResult, ExerciseResult, SubmissionResult, score_check, values_verdict, whole_exercise
from .spec import Course, Exercise
from .spec.models import QUESTION_TARGET

JUDGING_FAILED = ("The grader could not judge what came back from this exercise: it was not the plain data the "
                  "checks expect. Did your code change the grader's files or objects? If it does nothing of the "
                  "kind, tell your teacher: this may be a fault in the grader.")


@dataclass
class Plan:
    course: Course
    context: Context
    hidden: bool
    prepared: dict[str, list[Prepared]]
    tasks_file: Path
    workdir: Path
    exercises: tuple[Exercise, ...] = field(default=())
    #: each catalogued mistake's outputs on the cases it is compared on (checks.mistakes): exercise id →
    #: call key → [(mistake id, outputs)]
    mistakes: MistakeOutputs = field(default_factory=dict)

    def limits(self, threads: int = 1) -> Limits:
        lim = self.course.limits
        return Limits(step_s=lim.wall_backstop_s, step_cpu_s=lim.time_s,
                      total_s=max(60.0, lim.time_s * (len(self.exercises) + 4), lim.wall_backstop_s),
                      memory_mb=lim.memory_mb, file_mb=lim.file_mb, output_kb=lim.output_kb,
                      processes=lim.processes, threads=threads)


@functools.cache
def cuda_available() -> bool:
    """Whether CUDA cases run: torch sees a GPU, and a sandboxed child can use it (checked once per run).

    Where the child cannot, grading goes on as on a machine without a GPU (CUDA cases left out, the
    device check on the simulated GPU), so no learner loses points to the machine; the teacher is told.
    TORCHGRADE_NO_CUDA=1 grades without the GPU on purpose.
    """
    if os.environ.get("TORCHGRADE_NO_CUDA") == "1" or not torch.cuda.is_available():
        return False
    problem = gpu.problem_in_sandbox(PRELOAD)
    if problem:
        print(f"torchgrade: this machine has a GPU, but CUDA does not work inside the grader's sandbox "
              f"({problem}). Grading as on a machine without a GPU: the CUDA cases are left out and the "
              f"device checks run on a GPU simulated on the CPU, so every score is what a CPU-only machine gives. "
              f"See docs/explanation/gpu.md.", file=sys.stderr)
        return False
    return True


def build_plan(course: Course, *, hidden: bool, exercises: list[str] | None = None,
               cuda: bool | None = None, workdir: Path | None = None) -> Plan:
    """Prepare every check of the chosen exercises; hidden checks only when `hidden`."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="torchgrade-plan-"))
    workdir.mkdir(parents=True, exist_ok=True)
    context = Context(course=course, cuda=cuda_available() if cuda is None else cuda, feedback_dir=None,
                      hidden=hidden)
    chosen = tuple(e for e in course.exercises if exercises is None or e.id in exercises)
    prepared: dict[str, list[Prepared]] = {}
    mistakes: MistakeOutputs = {}
    tasks: dict[str, Any] = {}
    for exercise in chosen:
        items = [KINDS[check.kind].prepare(context, exercise, check)
                 for check in exercise.checks if hidden or not check.hidden]
        prepared[exercise.id] = items
        outputs = mistake_outputs(context, exercise, items)
        if outputs:
            mistakes[exercise.id] = outputs
        tasks[exercise.id] = {"module": exercise.module, "function": exercise.function_name,
                              "signature": None if exercise.function_name == QUESTION_TARGET else exercise.signature,
                              "calls": [call for item in items for call in item.calls]}
    tasks_file = workdir / f"tasks{wire.SUFFIX}"
    wire.dump(tasks, tasks_file)
    return Plan(course, context, hidden, prepared, tasks_file, workdir, chosen, mistakes)


def _checks(plan: Plan, exercise: Exercise) -> list:
    return [p.check for p in plan.prepared[exercise.id]]


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


@dataclass(frozen=True)
class Staged:
    """A submission's modules copied into a folder of their own under the scratch folder, ready for a child."""

    submission: Submission
    home: Path      # removed once the submission is graded
    folder: Path    # the staged modules: the child's import path

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def stage(plan: Plan, submission: Submission | Path, scratch: Path) -> Staged:
    """Copy the submission's modules (a notebook: its extracted modules) under `scratch`; needs no fork server,
    so it can be done while the servers start or while another submission's child runs."""
    submission = submission if isinstance(submission, Submission) else Submission.from_path(Path(submission))
    home = Path(tempfile.mkdtemp(prefix=f"{submission.name[:40]}-", dir=scratch))
    try:
        folder = stage_submission(submission, home / "submission", modules=plan.course.modules)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    return Staged(submission, home, folder)


def grade_submission(plan: Plan, submission: Submission | Path, server: ForkServer, scratch: Path,
                     threads: int = 1, pictures_of_passing_work: bool = True,
                     staged: Staged | None = None) -> SubmissionResult:
    """`pictures_of_passing_work`: draw feedback pictures (e.g. the gradient norms) for passing checks too,
    as a self-check does; class grading leaves them out, since drawing is a large share of its time.
    `staged`: the submission already staged (`stage`); it is removed once graded, as a folder staged here is."""
    if _draws_pictures(plan):
        drawing.prepare_in_background()  # while the child runs, not after it
    budget = wire.Budget()  # what this submission's records may cost the grader's memory, all together
    early = EarlyVerdicts(plan, pictures_of_passing_work, budget)
    try:
        staged = staged or stage(plan, submission, scratch)
        records, failures, details = _run_children(plan, staged.folder, staged.home, server, threads, early, budget)
    finally:
        if staged is not None:
            staged.remove()
    submission = staged.submission
    results = []
    for exercise in plan.exercises:
        try:
            record = records.get(exercise.id)
            failure = failures.get(exercise.id)
            judged = early.verdict(exercise.id, record) if failure is None else None
            results.append(judged or _exercise_result(plan, exercise, record and record.data, failure,
                                                      pictures_of_passing_work))
        except Exception as exc:  # a record the judges choke on costs its exercise, never the class's run
            problem = f"{type(exc).__name__}: {exc}"[:300]
            details.setdefault("judging_failed", []).append({"exercise": exercise.id, "error": problem})
            print(f"torchgrade: {submission.name}: judging {exercise.id} failed ({problem}); scored as an error",
                  file=sys.stderr)
            results.append(whole_exercise(exercise, _checks(plan, exercise), "error", JUDGING_FAILED))
    return SubmissionResult(submission.name, tuple(_say_why_unread(plan, submission, results)), details)


def _say_why_unread(plan: Plan, submission: Submission, results: list[ExerciseResult]) -> list[ExerciseResult]:
    """"Not submitted" where the module is there but was passed over says why (a link, a file too large)."""
    why = {module: reason for module in {e.module for e in plan.exercises}
           if (reason := unread_module(submission, module))}
    if not why:
        return results
    return [whole_exercise(exercise, _checks(plan, exercise), "failed", f"Not graded: {exercise.module}.py "
                           f"{why[exercise.module]}.")
            if exercise.module in why and all(c.feedback.startswith("Not submitted:") for c in result.checks)
            else result for exercise, result in zip(plan.exercises, results)]


@dataclass(frozen=True)
class Record:
    """What the child saved for one exercise: the bytes as read, and what they hold."""

    raw: bytes
    data: dict


class EarlyVerdicts:
    """Exercises judged while the child is still running the later ones.

    The child says when it has finished an exercise, but the learner's code runs in the same child
    and could say so too, or write the file again later. So an early verdict is only a cache: it is
    used when the bytes it judged are exactly those the grader reads once the child has ended, which
    makes the outcome the same as judging everything at the end, only sooner."""

    def __init__(self, plan: Plan, pictures_of_passing_work: bool, budget: wire.Budget | None = None):
        self._plan = plan
        self._budget = budget
        self._pictures = pictures_of_passing_work
        self._exercises = {e.id: e for e in plan.exercises}
        self._verdicts: dict[str, tuple[Record, ExerciseResult]] = {}
        self._read: dict[str, Record] = {}

    def offer(self, exercise_id: str, file: Path) -> None:
        exercise = self._exercises.get(exercise_id)
        if exercise is None or exercise_id in self._verdicts:
            return
        try:
            record = _read_record(file, budget=self._budget)
        except Exception:
            return  # read at the end, from the file as it is then (and any error reported there)
        if record is None:
            return
        self._read[exercise_id] = record  # read and charged to the budget once, whatever judging does
        try:
            self._verdicts[exercise_id] = (record, _exercise_result(self._plan, exercise, record.data, None,
                                                                     self._pictures))
        except Exception:
            return  # judged at the end (and any error reported there)

    def record(self, exercise_id: str) -> Record | None:
        """The record read early, if any: reading the same bytes again need not unpickle them again, nor
        charge them to the submission's budget a second time."""
        return self._read.get(exercise_id)

    def verdict(self, exercise_id: str, final: Record | None) -> ExerciseResult | None:
        early = self._verdicts.get(exercise_id)
        if early is None or final is None or early[0].raw != final.raw:
            return None
        return early[1]


def _read_record(file: Path, earlier: Record | None = None, budget: wire.Budget | None = None) -> Record | None:
    """None if the child saved no regular file; raises if what it saved is not a record. `earlier`: a
    record read before from the same file, returned as it is if the bytes are the same.

    The child may still be running (and the learner's code with it): the file is not read through a
    symlink put in its place, and a named pipe there cannot make the grader wait for a writer."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink
            return None
        raise  # e.g. made unreadable: "could not read the results"
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = stream.read()
    if earlier is not None and earlier.raw == raw:
        return earlier
    return Record(raw, wire.loads(raw, budget=budget))


def _draws_pictures(plan: Plan) -> bool:
    """Whether judging may draw with matplotlib (worth preparing it in the background: the drawing
    itself waits for that preparation, whatever the kind says)."""
    return any(getattr(KINDS[p.check.kind], "DRAWS_PICTURES", False) for ps in plan.prepared.values() for p in ps)


def _run_children(plan: Plan, staged: Path, home: Path, server: ForkServer, threads: int,
                  early: EarlyVerdicts | None = None, budget: wire.Budget | None = None):
    """Run the submission's exercises in as many children as stops make necessary; `early` judges each
    exercise the child says it has saved, while it runs."""
    limits = plan.limits(threads)
    remaining = [e.id for e in plan.exercises]
    records: dict[str, Record] = {}
    failures: dict[str, tuple[str, str]] = {}
    details: dict[str, Any] = {"children": 0, "wall_s": 0.0, "stopped": [], "output_truncated": False}
    by_module = {e.id: e.module for e in plan.exercises}
    attempt = 0
    # One wall-clock budget for the whole submission, across the children a crash or a hang makes
    # necessary: a submission that sleeps in every exercise holds its worker for total_s, not n times that.
    # What counts is each child's own time as the server measured it: the grader's judging while a child
    # runs (and its reading between children) is not the learner's.
    used = 0.0
    while remaining:
        left = limits.total_s - used
        if left < 1.0:
            for exercise_id in remaining:
                failures[exercise_id] = ("error", f"Your code used up the time of the whole submission "
                                                  f"({limits.total_s:g} s) before this exercise ran.")
            break
        attempt += 1
        work = home / f"work{attempt}"
        work.mkdir()
        out_dir = work / "out"
        job = Job(CHILD_TARGET, {"submission_dir": str(staged), "tasks_file": str(plan.tasks_file),
                                 "out_dir": str(out_dir), "exercises": remaining, "cuda": plan.context.cuda},
                  workdir=str(work), limits=dataclasses.replace(limits, total_s=left),
                  readable=(str(staged), str(plan.tasks_file)),
                  require=required(plan.course.sandbox), gpu=plan.context.cuda,
                  prepare=("grader.child:load_tasks", str(plan.tasks_file)),
                  steps=tuple(scheduled_steps(remaining, by_module, plan.context.cuda)),
                  # absolute: the fork server resolves paths from its own working folder, not the grader's
                  hidden=tuple(str(Path(root).resolve()) for root in [getattr(plan.course, "root", None)] if root))
        outcome = server.run(job, None if early is None else
                             (lambda step, out=out_dir: early.offer(step, out / f"{step}{wire.SUFFIX}")),
                             steps=remaining)
        used += outcome.wall_s
        if outcome.reason == "refused":
            raise SandboxRefused(outcome.stderr)
        if outcome.failed_step == "start:cuda":  # before any learner code ran: the machine's fault, never theirs
            last = (outcome.stderr or "").strip().splitlines()[-1:] or [str(outcome.reason)]
            raise SandboxRefused(f"CUDA stopped working inside the sandbox during grading ({last[0]}). Grade again, "
                                 f"or without the GPU: TORCHGRADE_NO_CUDA=1 (see docs/explanation/gpu.md).")
        details["children"] += 1
        details["wall_s"] += outcome.wall_s
        details["output_truncated"] |= outcome.output_truncated
        details["confinement"] = list(outcome.confinement)
        for exercise_id in remaining:
            try:
                record = _read_record(out_dir / f"{exercise_id}{wire.SUFFIX}", early and early.record(exercise_id), budget)
            except wire.TooLarge:
                failures[exercise_id] = ("error", f"Your results were too large for the grader to read (more than "
                                                  f"{wire.MAX_COST // 2**20} MB for the whole submission). Return "
                                                  f"tensors rather than long Python lists, and only what is asked.")
                continue
            except Exception:
                failures[exercise_id] = ("error", "The grader could not read the results of this exercise "
                                                  "(did your code write into the grader's files?).")
                continue
            if record is not None:
                records[exercise_id] = record
        before = len(remaining)
        remaining = [e for e in remaining if e not in records and e not in failures]
        if outcome.ok or not remaining:
            for exercise_id in remaining:
                failures[exercise_id] = ("error", "Your code stopped the grading before this exercise ran.")
            break
        step = outcome.failed_step or remaining[0]
        message = describe_stop(outcome, limits, step)
        details["stopped"].append({"step": step, "reason": outcome.reason})
        if step.startswith("import:"):
            module = step.split(":", 1)[1]
            for exercise_id in remaining:
                if by_module[exercise_id] == module:
                    failures[exercise_id] = ("error", message)
        elif step in remaining:
            failures[step] = ("error", message)
        remaining = [e for e in remaining if e not in records and e not in failures]
        if len(remaining) == before:  # no progress: blame the next exercise so the loop ends
            failures[remaining[0]] = ("error", message)
            remaining = remaining[1:]
    return records, failures, details


def _exercise_result(plan: Plan, exercise: Exercise, record: dict | None,
                     failure: tuple[str, str] | None, pictures_of_passing_work: bool = True) -> ExerciseResult:
    checks = _checks(plan, exercise)
    if failure is not None:
        return whole_exercise(exercise, checks, failure[0], failure[1])  # type: ignore[arg-type]
    assert record is not None
    status = record.get("status")
    if status == "missing_module":
        return whole_exercise(exercise, checks, "failed",
                              f"Not submitted: there is no {exercise.module}.py in the submission.")
    if status == "missing_function":
        return whole_exercise(exercise, checks, "failed",
                              f"Not submitted: {exercise.module}.py defines no function {exercise.function_name}.")
    if status == "signature":
        return whole_exercise(exercise, checks, "failed", signature_message(exercise, record))
    if status == "import_error":
        error = record["error"]
        where = f" ({error['where']}: {error['line']})" if error.get("where") else ""
        return whole_exercise(exercise, checks, "error",
                              f"Importing {exercise.module}.py raised {error['type']}: {error['message']}{where}. "
                              f"Every exercise in {exercise.module}.py scores 0 until it imports.")
    results = record.get("results", {})
    judged = []
    for prepared in plan.prepared[exercise.id]:
        kind = KINDS[prepared.check.kind]
        verdicts = []
        mistake = None
        named = False  # the first failing case (the one the feedback names) has been compared with the mistakes
        for case, call in zip(prepared.cases, prepared.calls):  # one call per case, in order
            result = results.get(call["key"])
            if not isinstance(result, dict):
                verdicts.append(CaseVerdict(case.id, case.label, False, "No result came back for this case.", "error"))
                named = True
                continue
            verdicts.append(kind.judge_case(prepared, case, result))
            if not verdicts[-1].passed and not named:
                named = True
                mistake = matching_mistake(exercise, prepared, case, result, plan.mistakes.get(exercise.id, {}))
        if not pictures_of_passing_work and all(v.passed for v in verdicts):
            verdicts = [dataclasses.replace(v, attachments={}, message="") if v.attachments else v for v in verdicts]
        judged.append((prepared.check, verdicts, mistake))
    values = values_verdict([(check.kind, verdicts) for check, verdicts, _ in judged])
    out = [_drawn(score_check(exercise, check, verdicts, mistake, values)) for check, verdicts, mistake in judged]
    return ExerciseResult(exercise.id, exercise.title, tuple(out))


_SIGNATURE_PROBLEMS = {
    "missing": "a parameter is missing or named otherwise",
    "order": "the parameters are in another order",
    "default": "a parameter lacks the default the statement gives it",
    "extra": "it has a parameter the statement does not name, without a default",
}


def signature_message(exercise: Exercise, record: dict) -> str:
    """'expected cross_entropy(logits, target); yours is cross_entropy(logits, targets)' and why it matters."""
    why = _SIGNATURE_PROBLEMS.get(str(record.get("problem")), "it differs")
    return (f"Expected {exercise.signature}; yours is {record.get('yours', '?')}: {why}. The grader calls your "
            f"function with the parameters the statement names, so none of its checks could run. Use the "
            f"statement's names, order and defaults.")


def _drawn(check: CheckResult) -> CheckResult:
    """The check with its pictures drawn (a check may hand one over as a function, to be drawn only if kept)."""
    if not any(callable(data) for data in check.attachments.values()):
        return check
    return dataclasses.replace(check, attachments={name: data() if callable(data) else data
                                                   for name, data in check.attachments.items()})
