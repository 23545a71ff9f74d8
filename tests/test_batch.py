"""Batch grading: children share the cores, CUDA untouched before the fork, progress, name clashes."""
from __future__ import annotations

import io
import textwrap

import pytest

from grader.batch import DuplicateNames, WorkerPool, default_jobs, find_pending, grade_many, threads_per_child
from grader.intake import Submission
from grader.progress import Progress
from grader.scoring import SubmissionResult

#: A sigmoid that reports, in its error message, what its process looks like from the inside.
INSPECT = textwrap.dedent("""
    import torch

    def sigmoid(x):
        cuda = getattr(torch.cuda, "_initialized", None)
        raise RuntimeError(f"threads={torch.get_num_threads()} cuda_initialized={cuda}")
""")


def inspect_children(tmp_path, plans, pool: WorkerPool, count: int) -> list[str]:
    subs = []
    for i in range(count):
        folder = tmp_path / f"student{i}"
        folder.mkdir()
        (folder / "activations.py").write_text(INSPECT)
        subs.append(Submission.from_path(folder))
    results = grade_many(plans(("sigmoid",), False), subs, pool=pool)
    return [next(e for e in r.exercises if e.id == "sigmoid").checks[0].feedback for r in results]


@pytest.mark.parametrize("workers", [1, 2])
def test_each_child_gets_its_share_of_threads_and_finds_cuda_uninitialised(tmp_path, plans, server, workers):
    feedback = inspect_children(tmp_path, plans, WorkerPool.of([server] * workers), count=workers)
    expected = f"threads={threads_per_child(workers)} cuda_initialized=False"
    assert all(expected in text for text in feedback), feedback


def test_threads_per_child_never_oversubscribe_the_cores():
    cores = default_jobs()
    for jobs in range(1, 2 * cores + 1):
        assert threads_per_child(jobs) >= 1
        assert threads_per_child(jobs) * jobs <= max(cores, jobs)
    assert threads_per_child(1) == 1  # more threads made a child slower on tiny tensors (batch.MAX_THREADS_PER_CHILD)


def test_two_submissions_with_one_name_are_refused(tmp_path, course):
    for parent in ("a", "b"):
        (tmp_path / parent / "ann").mkdir(parents=True)
    subs = [Submission.from_path(tmp_path / p / "ann") for p in ("a", "b")]
    with pytest.raises(DuplicateNames, match="both named 'ann'"):
        find_pending(course, subs, tmp_path / "out", options={})


def fake(name: str) -> SubmissionResult:
    return SubmissionResult(name, ())


def test_progress_writes_plain_lines_with_rate_and_time_left_when_not_a_terminal():
    stream = io.StringIO()
    with Progress(3, skipped=2, stream=stream) as progress:
        progress.advance(fake("ann"))
        progress.advance(fake("ben"))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("2 already graded") and "--force" in lines[0]
    assert lines[1].startswith("[1/3] ann: 0/0") and "/s" in lines[1] and "left" in lines[1]
    assert lines[2].startswith("[2/3] ben")


def test_progress_draws_a_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with Progress(4, stream=stream) as progress:
        for name in ("ann", "ben"):
            progress.advance(fake(name))
    text = stream.getvalue()
    assert "grading" in text and "2/4" in text and "submission/s" in text and "[1/4]" not in text


def stub_grading(monkeypatch, outcomes: dict[str, object]) -> list[str]:
    """grade_submission replaced: each name gives a result (or raises); returns the names started."""
    started: list[str] = []

    def fake_grade(plan, submission, server, scratch, threads=1, pictures_of_passing_work=True, staged=None,
                   lender=None):
        if staged is not None:
            staged.remove()
        started.append(submission.name)
        outcome = outcomes[submission.name]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr("grader.batch.grade_submission", fake_grade)
    return started


def folders(tmp_path, names) -> list[Submission]:
    for name in names:
        (tmp_path / "subs" / name).mkdir(parents=True)
    return [Submission.from_path(tmp_path / "subs" / name) for name in names]


def test_an_interrupted_run_reports_nothing_after_the_interruption(tmp_path, plans, server, monkeypatch):
    subs = folders(tmp_path, ["ann", "ben", "cat"])
    started = stub_grading(monkeypatch, {"ann": fake("ann"), "ben": KeyboardInterrupt(), "cat": fake("cat")})
    reported: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        grade_many(plans(("sigmoid",), True), subs, pool=WorkerPool.of([server]),
                   on_result=lambda r: reported.append(r.submission))
    assert reported == ["ann"] and "cat" not in started


def test_a_sandbox_failure_is_written_but_not_marked_done(tmp_path, plans, server, monkeypatch, course):
    from grader.batch import grade_class, grading_options
    subs = folders(tmp_path, ["ann", "ben"])
    crashed = SubmissionResult("ben", (), {"stopped": [{"step": "sigmoid", "reason": "crash"}]})
    stub_grading(monkeypatch, {"ann": fake("ann"), "ben": crashed})
    options = grading_options(course, hidden=True, exercises=["sigmoid"])
    pending = find_pending(course, subs, tmp_path / "out", options=options)
    run = grade_class(plans(("sigmoid",), True), pending, tmp_path / "out", jobs=1,
                      pool=WorkerPool.of([server]), quiet=True)
    assert run.retry == ["ben"] and (tmp_path / "out" / "ben" / "results.json").is_file()
    again = find_pending(course, subs, tmp_path / "out", options=options)
    assert [s.name for s in again.todo] == ["ben"]
