"""pytest as the student's runner: in a student bundle, one test per exercise × check × device.

Registered through the `pytest11` entry point, so it loads in every pytest session where
torchgrade is installed, and stays inert (it imports nothing heavy, collects nothing) unless the
rootdir is a student bundle: course.yaml there and `torchgrade_bundle = true` in its pytest.ini,
both written by `torchgrade release`. This repository's own test suite is therefore untouched.

In a bundle, course.yaml is collected as a file of tests: one node per exercise, one item per
public check and device (`sigmoid::values[cpu]`, `sigmoid::values[cuda]`, `sigmoid::forbid`,
`sigmoid::device[simulated-gpu]`); the device is named where the check runs on more than the CPU. The
first item that runs grades the submission once, through the same facade as `torchgrade check`
(`grading.Grader`: the public plan, from the plan cache, and one grading, with each check's cases
grouped by device), and every item then reports its own part. A failure shows the grader's
feedback, not a traceback, and the pictures it names are written to feedback/ (passing checks draw
none: nothing names them). `-k` with an exact exercise id selects that exercise alone (not the
ones whose id merely contains it: `-k softmax` leaves softmax_jacobian out).

The fork server starts with the session, so that it imports torch and warms up while this process
collects (imports torch, loads the course and its cached plan). Loading and grading make objects,
not garbage: the garbage collector is paused for them and what they made is frozen, so that no
collection (pytest's closing one and the interpreter's last one included) walks torch's objects.
"""
from __future__ import annotations

import atexit
import dataclasses
import gc
import sys
from pathlib import Path
from typing import Any

import pytest

from ..collector import paused

INI_BUNDLE = "torchgrade_bundle"
INI_SUBMISSION = "torchgrade_submission"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("torchgrade", "torchgrade (inside a student bundle)")
    group.addoption("--submission", dest="torchgrade_submission", default=None, metavar="PATH",
                    help="what to check: a folder of modules or a notebook (default: the bundle folder, "
                         "or the ini option torchgrade_submission)")
    group.addoption("--torchgrade-html", dest="torchgrade_html", default=None, metavar="PATH",
                    help="also write one self-contained HTML page: every failing check's feedback beside its pictures")
    parser.addini(INI_BUNDLE, type="bool", default=False,
                  help="this folder is a torchgrade student bundle: collect course.yaml's checks as tests")
    parser.addini(INI_SUBMISSION, default=".", help="what to check, relative to the bundle (default: the bundle)")


def is_bundle(config: pytest.Config) -> bool:
    return bool(config.getini(INI_BUNDLE)) and (config.rootpath / "course.yaml").is_file()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the fork servers now, before collection: they import torch and warm up on the other core while
    this process imports torch, loads the course and its plan. An xdist controller runs no item: none there."""
    config = session.config
    if not is_bundle(config):
        return
    _freeze_at_exit()
    if config.option.collectonly:
        return
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    from ..grading import start_self_check_servers
    config.stash[POOL] = start_self_check_servers()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """pytest collects garbage once more at the end (to report exceptions raised while freeing it); with
    torch loaded that walk costs ≈ 0.25 CPU s. This session's objects are frozen for it (as after collection),
    and thawed by the session's cleanup where pytest runs inside another process (`pytest.main()`), so that
    it leaves that process's collector as it was (`gc.unfreeze()` thaws every frozen object: a process that
    froze objects of its own before finds them thawed)."""
    if is_bundle(config):
        gc.freeze()
        if config.invocation_params.args != tuple(sys.argv[1:]):  # pytest.main() inside a process that goes on
            config.add_cleanup(gc.unfreeze)  # run once every plugin's unconfigure has
        # else the process ends next: thawed, its objects would be walked once more (≈ 0.2 CPU s)


_FREEZING: list[bool] = []


def _freeze_at_exit() -> None:
    """At interpreter exit, before its last garbage collection, move every object to the permanent
    generation: that collection would walk all of torch's objects (0.6–0.8 CPU s of a bundle's run,
    measured) to free memory the exit frees anyway. Exit handlers and cleanups still run."""
    if not _FREEZING:
        _FREEZING.append(True)
        atexit.register(gc.freeze)  # run before the handlers registered earlier (they run last-in, first-out)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    pool = session.config.stash.get(POOL, None)
    if pool is not None:
        del session.config.stash[POOL]
        pool.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if file_path.name == "course.yaml" and file_path.parent == config.rootpath and is_bundle(config):
        return CourseFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """`-k <exercise id>` selects that exercise only, not every exercise whose id contains it."""
    keyword = (config.getoption("keyword") or "").strip()
    exercises = {item.exercise_id for item in items if isinstance(item, CheckItem)}
    if keyword not in exercises:
        return
    kept = [item for item in items if not isinstance(item, CheckItem) or item.exercise_id == keyword]
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    grading: Grading | None = config.stash.get(GRADING, None)
    if grading is not None and grading.result is not None:
        score, most = grading.score()
        terminalreporter.write_line(f"torchgrade: {score:g} / {most:g} points on the public checks of the "
                                    f"exercises run (your teacher also grades hidden checks).")
        if grading.graded is not None:
            from ..scoring import note_of
            for exercise in grading.graded.exercises:  # a passing check's note, which no failure shows
                for check in exercise.checks:
                    note = note_of(check)
                    if note is not None and check.status == "passed":
                        terminalreporter.write_line(f"torchgrade: a note on {exercise.id}::{check.name}: {note}")
        page = config.getoption("torchgrade_html")
        if page and grading.graded is not None:
            from ..report import write_page
            written = write_page(grading.graded, Path(page))
            terminalreporter.write_line(f"torchgrade: the feedback with its pictures, on one page: {written}")


class Grading:
    """The bundle's grader (its plan loaded at collection), and the one grading of the submission, done on demand."""

    def __init__(self, config: pytest.Config, grader: Any) -> None:
        self.config, self.grader = config, grader
        self.course, self.plan = grader.course, grader.plan
        self.parts: dict[tuple[str, str, str], Any] = {}  # (exercise, check, device) → Prepared part
        self.result: dict[tuple[str, str, str], Any] | None = None
        self.error: str | None = None
        self.graded: Any = None  # the SubmissionResult of the one grading

    def add_part(self, exercise_id: str, label: str, device: str, part: Any) -> None:
        self.parts[(exercise_id, label, device)] = part

    def outcome(self, key: tuple[str, str, str], session: pytest.Session) -> Any:
        if self.result is None and self.error is None:
            with paused():  # one submission's judging and pictures make little garbage; walking it cost ≈ 0.25 CPU s
                self._grade(session)
        if self.error is not None:
            raise GradingError(self.error)
        assert self.result is not None
        return self.result[key]

    def submission_path(self) -> Path:
        option = self.config.getoption("torchgrade_submission")
        if option:
            return Path(option).resolve()
        return (self.config.rootpath / self.config.getini(INI_SUBMISSION)).resolve()

    def _grade(self, session: pytest.Session) -> None:
        from ..checks import SpecProblem
        from ..grading import read_submissions
        from ..intake import SubmissionError

        wanted = {(i.exercise_id, i.check_label, i.device) for i in session.items
                  if isinstance(i, CheckItem) and i.key in self.parts}
        keys = [key for key in self.parts if key in wanted]
        prepared: dict[str, list[Any]] = {}
        for key in keys:
            prepared.setdefault(key[0], []).append(self.parts[key])
        try:
            (submission,) = read_submissions([self.submission_path()], self.course)
            # pictures only for failing checks: pytest shows nothing of a passing one, so none would be named
            graded = self.grader.only(prepared).grade(submission, pictures_of_passing_work=False, self_check=True)
        except (SubmissionError, SpecProblem) as exc:
            self.error = f"torchgrade could not check {self.submission_path()}: {exc}"
            return
        from ..report import write_attachments
        write_attachments(graded, Path(session.config.rootpath))  # the pictures the feedback names, as check writes them
        self.graded = graded
        self.result = {}
        for exercise in graded.exercises:
            for key, check in zip([k for k in keys if k[0] == exercise.id], exercise.checks):
                self.result[key] = check

    def score(self) -> tuple[float, float]:
        """Points as the grader gives them: a check scores when every part of it that ran passed."""
        assert self.result is not None
        by_check: dict[tuple[str, str], list[Any]] = {}
        for (exercise_id, label, _), check in self.result.items():
            by_check.setdefault((exercise_id, label), []).append(check)
        score = most = 0.0
        for parts in by_check.values():
            ran = [p for p in parts if p.status != "skipped"]
            most += parts[0].max_score
            score += parts[0].max_score if ran and all(p.status == "passed" for p in ran) else 0.0
        return score, most


GRADING = pytest.StashKey[Grading]()
POOL = pytest.StashKey[Any]()  # the session's WorkerPool, started at session start


class GradingError(Exception):
    """The submission could not be checked at all (a missing path, a broken bundle)."""


class CheckFailed(Exception):
    def __init__(self, check: Any) -> None:
        super().__init__(check.feedback)
        self.check = check


class CourseFile(pytest.File):
    """course.yaml of a bundle: one collector per exercise."""

    def collect(self):
        with paused():  # importing torch, loading the course and its plan: objects, not garbage (≈ 0.25 CPU s)
            grader = self._load()
        grading = Grading(self.config, grader)
        self.config.stash[GRADING] = grading
        for exercise in grader.plan.exercises:
            yield ExerciseNode.from_parent(self, name=exercise.id, grading=grading)

    def _load(self) -> Any:
        """The bundle's Grader: its public plan (cached across pytest runs), grading on the session's server."""
        from ..checks import SpecProblem
        from ..grading import Grader
        from ..spec import SpecError, SpecErrors, load_course

        try:
            course = load_course(self.path)
            grader = Grader.open(course, hidden=False, servers=self.config.stash.get(POOL, None))
            self.config.add_cleanup(grader.close)
            return grader
        except (SpecErrors, SpecError, SpecProblem) as exc:
            raise self.CollectError(f"The bundle's course cannot be read (ask your teacher for a new bundle):\n{exc}")


class ExerciseNode(pytest.Collector):
    """One exercise: one item per check and device."""

    def __init__(self, *, grading: Grading, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grading = grading

    def collect(self):
        cuda = self.grading.plan.context.cuda
        for prepared in self.grading.plan.prepared[self.name]:
            label = prepared.check.label
            for device, part in device_parts(prepared):
                self.grading.add_part(self.name, label, device, part)
                yield CheckItem.from_parent(self, name=item_name(prepared, label, device), exercise_id=self.name,
                                            check_label=label, device=device)
            if "cuda" in getattr(prepared.check, "devices", []) and not cuda:
                item = CheckItem.from_parent(self, name=f"{label}[cuda]", exercise_id=self.name, check_label=label,
                                             device="cuda")
                item.add_marker(pytest.mark.skip(reason="needs an NVIDIA GPU (CUDA); this machine has none"))
                yield item


class CheckItem(pytest.Item):
    """One check of one exercise on one device; passes when every case of it passes."""

    def __init__(self, *, exercise_id: str, check_label: str, device: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exercise_id, self.check_label, self.device = exercise_id, check_label, device

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.exercise_id, self.check_label, self.device)

    def runtest(self) -> None:
        check = self.config.stash[GRADING].outcome(self.key, self.session)
        if check.status == "skipped":
            pytest.skip(check.feedback)
        if check.status != "passed":
            raise CheckFailed(check)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            check = excinfo.value.check
            return f"{self.name}: {check.score:g}/{check.max_score:g} points. {headline(check.feedback)}\n{check.feedback}"
        if isinstance(excinfo.value, GradingError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.exercise_id}::{self.name}"


def device_parts(prepared: Any) -> list[tuple[str, Any]]:
    """The prepared check split by the device its cases run on (in order of first appearance)."""
    groups: dict[str, list[int]] = {}
    for index, call in enumerate(prepared.calls):
        device = (call.get("options") or {}).get("device") or call.get("device", "cpu")
        groups.setdefault(device, []).append(index)
    if not groups:
        return [("cpu", prepared)]
    return [(device, dataclasses.replace(prepared, cases=[prepared.cases[i] for i in indices],
                                         calls=[prepared.calls[i] for i in indices]))
            for device, indices in groups.items()]


def item_name(prepared: Any, label: str, device: str) -> str:
    """`values[cpu]` where the check runs on more than the CPU (or not on it); `forbid` where CPU only."""
    declared = list(getattr(prepared.check, "devices", ["cpu"]))
    devices = {(c.get("options") or {}).get("device") or c.get("device", "cpu") for c in prepared.calls}
    if declared == ["cpu"] and devices <= {"cpu"}:
        return label
    return f"{label}[{'simulated-gpu' if device == 'model' else device}]"


def headline(feedback: str) -> str:
    """The line that says what is wrong (after "N of M cases failed …" when that comes first)."""
    lines = [line.strip() for line in feedback.splitlines() if line.strip()]
    if len(lines) > 1 and "cases failed" in lines[0]:
        return lines[1]
    return lines[0] if lines else ""
