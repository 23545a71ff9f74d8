"""The one way to grade: a course's plan (from the plan cache, or built once), warm fork servers, then one
submission, a whole class, an audit or a self-check graded against that plan.

Every front end goes through here and only parses, calls and shows: the command line (`check`, `grade`,
`audit`), the pytest plugin, nbgrader's fast path and its kernel, Gradescope, `release` (which plans the
bundle and grades nothing) and the benchmarks. Below it lie the stages, each in a module of its own:
`plan` (the checks prepared once), `execute` (the learner's code run in sandboxed children), `judge` (what
came back compared with the plan), `scoring` (points and feedback); `run` grades one submission through
them, `batch` many at once, and `report` writes the results.

Torch-free at import: a front end starts its fork servers (`start_servers`) before it loads the course, so
that the servers import torch while it does. Everything heavy is imported where it is used.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from .entry import PRELOAD

if TYPE_CHECKING:
    from .audit import Audit
    from .batch import ClassRun
    from .intake import Submission
    from .plan import Plan
    from .pool import WorkerPool
    from .scoring import SubmissionResult
    from .shard import Shard
    from .spec import Course

#: The extra files `grade --format` writes beside each results.json.
EXTRA_FILES = {"gradescope": "gradescope.json", "junit": "junit.xml"}


class UnknownExercises(ValueError):
    """Exercise ids the course does not define; the message names them."""


def default_jobs() -> int:
    """How many submissions are graded at once unless asked (one per core, within limits)."""
    from . import pool
    return pool.default_jobs()


def start_servers(jobs: int) -> WorkerPool:
    """`jobs` warm fork servers, starting (and importing torch) in the background from now on.

    Start them before loading the course: they import torch while this process loads it. Whoever
    starts them closes them (`close()`, or a `with` block)."""
    from . import pool
    return pool.WorkerPool(jobs, PRELOAD)


def start_self_check_servers() -> WorkerPool:
    """The servers of a self-check (`check`, the bundle's pytest): two where there are two cores or more, so
    that the submission's modules run two at once (each module has budgets of its own: the same verdicts).
    Both are forked from one warm template, so the second costs a fork, not another import of torch."""
    return start_servers(min(2, default_jobs()))


def end_templates() -> None:
    """End this process's fork server templates and wait for them, before a command exits: they would end
    on their own once it has, but this way their time counts as the command's (a benchmark sees it)."""
    from .sandbox import templates
    templates.close_all()


def sandbox_warnings(course: Course) -> list[str]:
    """What this machine's sandbox lacks (Landlock, an own uid, an IPC namespace), one warning each, and
    whether graded code could read the course; raises SandboxRefused where the course refuses to grade so."""
    from .sandbox import policy
    warnings = policy.check_all(course.sandbox)
    return [text for text in (*warnings, policy.exposure(course.root)) if text]


def chosen_exercises(course: Course, ids: Sequence[str]) -> list[str] | None:
    """The exercise ids asked for (None: every exercise); UnknownExercises if the course lacks one."""
    unknown = [e for e in ids if e not in {x.id for x in course.exercises}]
    if unknown:
        raise UnknownExercises(f"no exercise called {', '.join(unknown)}")
    return list(ids) or None


def read_submissions(paths: Iterable[Path], course: Course) -> list[Submission]:
    """Folders, .py modules and .ipynb notebooks (split into the course's modules); SubmissionError says
    which path cannot be graded and why."""
    from .intake import Submission
    return [Submission.from_path(Path(p), modules=course.modules) for p in paths]


def plan_for(course: Course, *, hidden: bool, exercises: list[str] | None = None, cuda: bool | None = None,
             workdir: Path | None = None, cache: bool = True) -> Plan:
    """The course's plan: from the plan cache when `cache` and an entry under the same key is there, else
    built (and stored). Hidden checks only when `hidden`; CUDA cases where `cuda` (default: this machine)."""
    from . import plan_cache
    return plan_cache.load_or_build(course, hidden=hidden, exercises=exercises, cuda=cuda, workdir=workdir,
                                    use_cache=cache)


@dataclass
class Grader:
    """A course ready to grade: its plan, and the fork servers that run the learners' code.

    `servers` may be None: each grading then starts servers of its own (one per worker) and closes them.
    A Grader never closes the servers it was given; `close()` removes the plan's files if it made their folder."""

    course: Course
    plan: Plan
    servers: WorkerPool | None = None
    _own_workdir: Path | None = None

    @classmethod
    def open(cls, course: Course, *, hidden: bool, exercises: list[str] | None = None, cuda: bool | None = None,
             servers: WorkerPool | None = None, workdir: Path | None = None, cache: bool = True) -> Grader:
        """The course's plan (`plan_for`), its files in `workdir` or in a folder of its own until `close()`."""
        own = None if workdir is not None else Path(tempfile.mkdtemp(prefix="torchgrade-plan-"))
        try:
            plan = plan_for(course, hidden=hidden, exercises=exercises, cuda=cuda, workdir=workdir or own,
                            cache=cache)
        except BaseException:
            if own is not None:
                shutil.rmtree(own, ignore_errors=True)
            raise
        return cls(course, plan, servers, own)

    def only(self, prepared: dict[str, list]) -> Grader:
        """The same course and servers, the plan narrowed to the exercises (in its order) and the prepared
        checks (or parts of them) that `prepared` holds."""
        exercises = tuple(e for e in self.plan.exercises if e.id in prepared)
        plan = replace(self.plan, exercises=exercises, prepared={e.id: prepared[e.id] for e in exercises})
        return Grader(self.course, plan, self.servers)

    def grade(self, submission: Submission, *, pictures_of_passing_work: bool = True,
              threads: int | None = None, self_check: bool = False) -> SubmissionResult:
        """One submission's result, inside its boundary (an exception becomes a result that says why).

        `pictures_of_passing_work`: draw feedback pictures for passing checks too (a self-check shows them);
        `threads`: torch threads for its child (default: as for one worker; a caller grading on several
        servers at once passes its share of the cores); `self_check`: a student checking their own work, whose
        modules may run beside each other on the servers' idle ones (batch.grade_many)."""
        from . import batch
        (result,) = batch.grade_many(self.plan, [submission], jobs=1, pool=self.servers,
                                     pictures_of_passing_work=pictures_of_passing_work, threads=threads,
                                     self_check=self_check)
        return result

    def close(self) -> None:
        if self._own_workdir is not None:
            shutil.rmtree(self._own_workdir, ignore_errors=True)
            self._own_workdir = None

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def self_check(course: Course, submission: Path, *, exercises: Sequence[str] = (), cache: bool = True,
               servers: WorkerPool | None = None) -> SubmissionResult:
    """`torchgrade check`: the public checks of the chosen exercises on one submission (a folder, a module or
    a notebook), feedback pictures of passing work too. UnknownExercises or SubmissionError if it cannot start.

    Loading the plan and grading make objects, not garbage: the garbage collector is paused for them."""
    from .collector import paused
    ids = chosen_exercises(course, exercises)
    (chosen,) = read_submissions([submission], course)
    with paused(), Grader.open(course, hidden=False, exercises=ids, servers=servers, cache=cache) as grader:
        return grader.grade(chosen, self_check=True)


@dataclass
class ClassGrading:
    """One `grade` run over a class (or one shard of it), as the command line reports it."""

    run: ClassRun
    jobs: int
    submissions: int                        # every submission named, in every shard


def grade_class(course: Course, paths: Sequence[Path], out_dir: Path, *, hidden: bool = True, force: bool = False,
                shard: Shard | None = None, formats: Sequence[str] = (), jobs: int | None = None,
                cache: bool = True, bar: bool | None = None, servers: WorkerPool | None = None) -> ClassGrading:
    """`torchgrade grade`: grade what is missing or changed under `out_dir` (every submission with `force`),
    results written as each is done, then the gradebook; `formats` also writes Gradescope or JUnit files.

    A shard's record says it is incomplete until the run ends (merge refuses it meanwhile). SubmissionError,
    DuplicateNames: the class cannot be graded as named. `servers`: fork servers the caller started (and
    closes), best before it loaded the course; otherwise they are started here, after finding what to grade."""
    from . import batch
    from .shard import write_record
    submissions = read_submissions(paths, course)
    extra = tuple(EXTRA_FILES[f] for f in formats)
    options = batch.grading_options(course, hidden=hidden)
    pending = batch.find_pending(course, submissions, out_dir, options=options, force=force, shard=shard,
                                 extra_files=extra)
    jobs = min(jobs or batch.default_jobs(), max(1, len(pending.todo)))
    names = [s.name for s in pending.chosen]
    if shard:  # until the run ends, merge knows this shard's folder as incomplete
        write_record(out_dir, shard, names, pending.course_hash, complete=False)
    own = servers is None and bool(pending.todo)
    if own:
        servers = start_servers(jobs)  # they warm up while the plan is loaded
    try:
        with Grader.open(course, hidden=hidden, cuda=options["cuda"], servers=servers, cache=cache) as grader:
            run = batch.grade_class(grader.plan, pending, out_dir, jobs=jobs, write_extra=_extra_writer(formats),
                                    pool=servers, bar=bar)
            if shard:
                write_record(out_dir, shard, names, pending.course_hash, complete=True,
                             exercise_ids=[e.id for e in grader.plan.exercises])
    finally:
        if own and servers is not None:
            servers.close()
    return ClassGrading(run, jobs, len(submissions))


def _extra_writer(formats: Sequence[str]) -> Callable[[SubmissionResult, Path], None] | None:
    """Writes each submission's extra files (`grade --format`) into its folder."""
    if not formats:
        return None
    from .report import gradescope_json, junit_xml, write_atomic

    def write(result: SubmissionResult, folder: Path) -> None:
        if "gradescope" in formats:
            write_atomic(folder / "gradescope.json", json.dumps(gradescope_json(result), indent=2, ensure_ascii=False))
        if "junit" in formats:
            write_atomic(folder / "junit.xml", junit_xml(result))
    return write


def audit(course: Course, *, exercises: Sequence[str] = (), jobs: int | None = None, cache: bool = True) -> Audit:
    """`torchgrade audit`: the solutions and every catalogued variant of the chosen exercises graded with the
    hidden checks. UnknownExercises, or AuditError where the course cannot be audited."""
    from . import batch
    from .audit import run_audit
    ids = chosen_exercises(course, exercises)
    with start_servers(jobs or batch.default_jobs()) as servers, \
            Grader.open(course, hidden=True, exercises=ids, servers=servers, cache=cache) as grader:
        return run_audit(course, grader.plan, exercises=ids, pool=servers)

