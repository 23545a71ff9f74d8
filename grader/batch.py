"""Grade many submissions: one warm fork server per worker, results written as each finishes.

Each worker owns one ForkServer (a Python that imported torch and matplotlib once and never
initialised CUDA) and forks one sandboxed child per submission, with torch's intra-op threads
set to cores // jobs so that N workers do not oversubscribe the machine; memory stays bounded by
N × the per-child limit. `grade_class` adds what a teacher's run needs: a shard of the list,
skipping what is already graded under the same key, writing each result atomically as soon as
it is done, and a progress bar.

One bad submission costs only itself: everything done for one submission (reading its notebook,
staging, extraction, judging: `grade_one`; writing its results: `report_one`) happens inside one
boundary. Whatever goes wrong there becomes that submission's result: every exercise `error` with
the reason, a top-level `error` in its results.json, no grading key (so the next run tries it
again), and the run goes on with the others. Hashing its files for the key (`find_pending`) follows
the same rule: a submission whose files cannot be hashed is graded, and says why, without a key.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .intake import Submission, SubmissionError, check_readable
from .pool import WorkerPool, default_jobs
from .progress import Progress
from .report import write_gradebook, write_results
from .resume import SIDECAR, Done, course_key, grading_key, load_done, submission_key, write_sidecar
from .entry import PRELOAD
from .plan import Plan, cuda_available
from .execute import Lender
from .run import Staged, grade_submission, stage
from .sandbox import ForkServer, SandboxRefused
from .scoring import SubmissionResult, whole_exercise
from .shard import Shard, select
from .spec import Course
from .text import shown


#: Exercise tensors are tiny: a second intra-op thread only adds OpenMP's hand-offs and spinning. With two,
#: one full submission's child took 3.8–4.6 s instead of 1.6–1.7 s (`torchgrade check`, 2-core VM).
MAX_THREADS_PER_CHILD = 1


def threads_per_child(jobs: int) -> int:
    """torch intra-op threads for each child, so that `jobs` children share the cores (and no more than helps)."""
    return max(1, min(MAX_THREADS_PER_CHILD, default_jobs() // max(1, jobs)))


def grade_many(plan: Plan, submissions: Iterable[Submission], jobs: int = 1,
               on_result: Callable[[SubmissionResult], None] | None = None,
               pool: WorkerPool | None = None, pictures_of_passing_work: bool = True,
               threads: int | None = None, self_check: bool = False) -> list[SubmissionResult]:
    """Grade in parallel, results in input order; `on_result` is called (in a worker thread) as soon
    as each is done. `details["grade_s"]` is each submission's time from staging to its scores.
    `threads`: torch threads per child (default: the cores shared among this call's workers).
    `self_check`: one student checking their own work; a lone submission's modules then borrow the pool's
    idle servers to run beside each other (a class grades each submission's modules one after another).

    Each submission is graded and handed over inside its boundary (`grade_one`, `report_one`): an
    exception there becomes that submission's result; only Ctrl-C (or an exit) stops the run."""
    submissions = list(submissions)
    if not submissions:
        return []
    own_pool = pool is None
    if pool is None:
        pool = WorkerPool(min(jobs, len(submissions)), PRELOAD)
    workers = min(pool.jobs, len(submissions))
    threads = threads or threads_per_child(workers)
    lender = pool if self_check and len(submissions) == 1 and pool.jobs > 1 else None
    scratch = Path(tempfile.mkdtemp(prefix="torchgrade-scratch-"))

    stopping = threading.Event()  # set when the run is interrupted: nothing more is started or reported

    def work(submission: Submission) -> SubmissionResult | None:
        if stopping.is_set():
            return None
        started = time.monotonic()
        staged = stage_one(plan, submission, scratch)  # before waiting for a server: while they start, or are busy
        staging_s = time.monotonic() - started
        if isinstance(staged, SubmissionResult):
            result = staged
            result.details["grade_s"] = round(staging_s, 3)
        else:
            try:
                server = pool.get()
            except BaseException:
                staged.remove()
                stopping.set()
                raise
            try:
                result = grade_one(plan, submission, server, scratch, threads=threads,
                                   pictures_of_passing_work=pictures_of_passing_work, staged=staged, lender=lender)
            except BaseException:  # Ctrl-C, or the process asked to exit: nothing more is started
                stopping.set()
                raise
            finally:
                pool.put(server)
            result.details["grade_s"] = round(result.details.get("grade_s", 0.0) + staging_s, 3)  # not the wait
        if on_result is not None and not stopping.is_set():
            result = report_one(plan, submission, result, on_result)
        return result

    executor = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [executor.submit(work, submission) for submission in submissions]
        return [future.result() for future in futures]
    except BaseException:  # Ctrl-C, or a grading that raised: stop soon, and report nothing half-done
        stopping.set()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if own_pool:
            pool.close()
        executor.shutdown(wait=True)
        shutil.rmtree(scratch, ignore_errors=True)


def grade_one(plan: Plan, submission: Submission, server: ForkServer, scratch: Path, *, threads: int = 1,
              pictures_of_passing_work: bool = True, staged: Staged | None = None,
              lender: Lender | None = None) -> SubmissionResult:
    """One submission's result, whatever happens while grading it: an exception in the grader (reading,
    staging, extracting, judging) becomes a result that says it could not be graded, and why.
    `staged`: what `stage_one` returned for it (then removed here), else it is staged here; `lender`: idle
    servers its modules may borrow."""
    started = time.monotonic()
    try:
        if staged is None:
            check_readable(submission, plan.course.modules)
        result = grade_submission(plan, submission, server, scratch, threads=threads,
                                  pictures_of_passing_work=pictures_of_passing_work, staged=staged, lender=lender)
    except Exception as exc:
        if staged is not None:
            staged.remove()
        result = could_not_grade(plan, submission, why_not_graded(exc))
    result.details["grade_s"] = round(time.monotonic() - started, 3)
    return result


def stage_one(plan: Plan, submission: Submission, scratch: Path) -> Staged | SubmissionResult:
    """The submission staged (no fork server needed), or, inside the same boundary as `grade_one`, the
    result that says why it could not be read or staged."""
    try:
        check_readable(submission, plan.course.modules)
        return stage(plan, submission, scratch)
    except Exception as exc:
        return could_not_grade(plan, submission, why_not_graded(exc))


def report_one(plan: Plan, submission: Submission, result: SubmissionResult,
               on_result: Callable[[SubmissionResult], None]) -> SubmissionResult:
    """Hand the result to `on_result` (which writes it); if that fails, hand over a result saying why."""
    try:
        on_result(result)
        return result
    except Exception as exc:
        failed = could_not_grade(plan, submission, f"writing its results failed: {why_not_graded(exc)}")
    try:
        on_result(failed)
    except Exception as exc:  # e.g. the output folder itself is unwritable: the class's gradebook still has it
        print(f"torchgrade: {shown(submission.name)}: its results could not be written "
              f"({type(exc).__name__}: {shown(str(exc))[:300]})", file=sys.stderr)
    return failed


def why_not_graded(exc: BaseException) -> str:
    """The reason a submission could not be graded, in words a teacher can act on."""
    text = shown(str(exc))[:500]
    if isinstance(exc, SubmissionError):
        return text
    if isinstance(exc, SandboxRefused):
        return (f"the grader's sandbox refused to run it ({text}); this is the machine's doing, not the "
                f"student's: run the same command again once the sandbox works")
    if isinstance(exc, OSError):
        where = f" ({shown(str(exc.filename))})" if exc.filename else ""
        return (f"the grader could not read or copy the submission's files{where}: {exc.strerror or text}; "
                f"check the files and their permissions, then run the same command again")
    if isinstance(exc, (RecursionError, MemoryError)):
        return (f"the submission is too large or too deeply nested for the grader to read ({type(exc).__name__}); "
                f"ask the student to hand in only their modules or notebook")
    return (f"the grader failed on it ({type(exc).__name__}: {text}); this is a fault in the grader, not "
            f"necessarily the student's: please report it with this submission. Run the same command again "
            f"to retry it")


def could_not_grade(plan: Plan, submission: Submission, reason: str) -> SubmissionResult:
    """Every exercise `error` with the reason; `details["error"]` (results.json's top-level `error`)."""
    print(f"torchgrade: {shown(submission.name)} could not be graded: {reason}", file=sys.stderr)
    message = (f"This submission could not be graded: {reason.rstrip('.')}. No score was given for it: your "
               f"teacher sees this message, and the next grading run tries it again.")
    exercises = tuple(whole_exercise(e, [p.check for p in plan.prepared[e.id]], "error", message)
                      for e in plan.exercises)
    return SubmissionResult(submission.name, exercises, {"error": reason})


@dataclass
class Pending:
    """A class (or one shard of it) split into what is graded already under the current key and the rest."""

    chosen: list[Submission]                 # this shard's submissions, in the order given
    todo: list[Submission]
    done: dict[str, Done]
    keys: dict[str, str | None]              # submission name → grading key (None: its files could not be read)
    course_hash: str
    notes: list[str] = field(default_factory=list)  # for the teacher: renamed submissions


@dataclass
class ClassRun:
    """One `grade` run over a class (or one shard of it)."""

    results: list[SubmissionResult]          # every submission of the shard, graded now or before
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)  # the sandbox itself failed: not marked done
    wall_s: float = 0.0
    ungradable: list[str] = field(default_factory=list)  # no real result (results.json has `error`): not marked done

    @property
    def not_graded(self) -> list[str]:
        """Submissions the next run grades again: could not be graded, or the sandbox failed."""
        return sorted({*self.ungradable, *self.retry})


class DuplicateNames(ValueError):
    """Two submissions would write to the same DIR/<name>; the message is for a teacher."""


def grading_options(course: Course, *, hidden: bool, exercises: list[str] | None = None,
                    cuda: bool | None = None) -> dict:
    """What, besides the course's files, changes a grading: part of every submission's key."""
    import torch
    ids = [e.id for e in course.exercises if exercises is None or e.id in exercises]
    return {"hidden": hidden, "exercises": ids, "cuda": cuda_available() if cuda is None else cuda,
            "torch": torch.__version__}


def find_pending(course: Course, submissions: Iterable[Submission], out_dir: Path, *, options: dict,
                 force: bool = False, shard: Shard | None = None, extra_files: tuple[str, ...] = ()) -> Pending:
    """This shard's submissions; those with results under the current key (and every extra file) are done."""
    out_dir = Path(out_dir)
    chosen = select(submissions, shard)
    _refuse_duplicates(chosen)
    course_hash = course_key(course, options)
    keys = {s.name: _key_or_none(course_hash, s) for s in chosen}
    required = ("results.json", *extra_files)
    done: dict[str, Done] = {}
    if not force:
        for submission in chosen:
            key = keys[submission.name]
            finished = None if key is None else load_done(out_dir / submission.name, key, required)
            if finished is not None:
                done[submission.name] = finished
    todo = [s for s in chosen if s.name not in done]
    return Pending(chosen, todo, done, keys, course_hash, [s.note for s in chosen if s.note])


def _key_or_none(course_hash: str, submission: Submission) -> str | None:
    """The submission's grading key; None if its files cannot be read (grading it then says why)."""
    try:
        return grading_key(course_hash, submission_key(submission))
    except Exception:
        return None


def grade_class(plan: Plan, pending: Pending, out_dir: Path, *, jobs: int,
                write_extra: Callable[[SubmissionResult, Path], None] | None = None,
                pool: WorkerPool | None = None, quiet: bool = False, bar: bool | None = None) -> ClassRun:
    """Grade what is pending; write results.json, the extra files and then the sidecar for each
    submission as soon as it is done (the sidecar marks it done); then DIR/gradebook.csv.

    Feedback pictures are drawn for failing checks only (a learner's passing gradient-norm plot costs
    about a sixth of a submission's grading); `torchgrade check` draws them for passing work too."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    if not quiet:
        for note in pending.notes:
            print(f"torchgrade: {note}", file=sys.stderr)
    progress = Progress(len(pending.todo), skipped=len(pending.done), quiet=quiet, bar=bar)

    retry: list[str] = []
    ungradable: list[str] = []

    def save(result: SubmissionResult) -> None:
        folder = out_dir / result.submission
        (folder / SIDECAR).unlink(missing_ok=True)  # an older key must not mark what is written now as done
        write_results(result, out_dir)
        if write_extra is not None:
            write_extra(result, folder)
        key = pending.keys.get(result.submission)
        if result.details.get("error"):
            ungradable.append(result.submission)  # no real result: no key, so the next run grades it again
        elif sandbox_failed(result) or key is None:
            retry.append(result.submission)  # not the student's doing (or no key to resume by): graded again next run
        else:
            write_sidecar(folder, key, pending.course_hash, result.details)
        progress.advance(result)

    try:
        graded = grade_many(plan, pending.todo, jobs=jobs, on_result=save, pool=pool, pictures_of_passing_work=False)
    finally:
        progress.close()
    by_name = {r.submission: r for r in graded}
    for name, finished in pending.done.items():
        by_name[name] = finished.result
    results = [by_name[s.name] for s in pending.chosen]
    write_gradebook(results, [e.id for e in plan.exercises], out_dir / "gradebook.csv")
    ungradable = sorted(set(ungradable) | {r.submission for r in graded if r.details.get("error")})
    return ClassRun(results, [s.name for s in pending.todo], sorted(pending.done), sorted(retry),
                    time.monotonic() - started, ungradable)


def sandbox_failed(result: SubmissionResult) -> bool:
    """The grader's sandbox (not the learner's code) failed while grading this submission."""
    return any(stop.get("reason") == "crash" for stop in result.details.get("stopped") or ())


def _refuse_duplicates(submissions: list[Submission]) -> None:
    seen: dict[str, Path] = {}
    for submission in submissions:
        if submission.name in seen:
            raise DuplicateNames(f"{seen[submission.name]} and {submission.path} are both named "
                                 f"'{submission.name}': their results would overwrite each other; rename one")
        seen[submission.name] = submission.path
