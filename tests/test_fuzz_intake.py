"""Intake of any tree of files: names of any bytes, folders, symlinks, pipes and sizes. Hashing and staging
never raise but to say why a submission cannot be read, stage exactly the regular files listed, follow
no link; and a good neighbour graded in the same run gets exactly its solo result."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from boundary_kit import good
from grader.batch import WorkerPool, grade_many
from grader.intake import MAX_FILE_BYTES, Submission, SubmissionError, stage_submission, submission_files
from grader.resume import submission_key

NAME = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
ENTRY = st.tuples(st.lists(NAME, min_size=1, max_size=4),
                  st.sampled_from(["file", "dir", "link", "dangling", "loop", "fifo", "big"]),
                  st.binary(max_size=64))


#: What a "link" entry points at: a file outside the tree, never a system file (the tests run as root).
OUTSIDE = os.fsencode(os.path.join(tempfile.gettempdir(), "torchgrade-fuzz-outside.txt"))


def _create(path: bytes) -> int:
    """A new file at `path`, never through a link an earlier entry left there (O_EXCL refuses any existing name)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)


def build(root: bytes, entries: list) -> None:
    """Make each entry (a path of byte names, a kind, content) under `root`; a clash with an earlier one is skipped."""
    for parts, kind, content in entries:
        path = root + b"/" + b"/".join(parts)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if kind == "dir":
                os.makedirs(path, exist_ok=True)
            elif kind == "file":
                with os.fdopen(_create(path), "wb") as handle:
                    handle.write(content)
            elif kind == "big":
                with os.fdopen(_create(path), "wb") as handle:
                    handle.truncate(MAX_FILE_BYTES + 1)
            elif kind == "link":
                os.symlink(OUTSIDE, path)
            elif kind == "dangling":
                os.symlink(b"nowhere" + content[:8].replace(b"/", b"_").replace(b"\0", b"_"), path)
            elif kind == "loop":
                os.symlink(b".", path)
            else:
                os.mkfifo(path)
        except (FileExistsError, NotADirectoryError, IsADirectoryError, OSError):
            continue


def regular_files(root: bytes) -> set[bytes]:
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found.add(os.path.relpath(path, root))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ENTRY, max_size=8))
def test_any_tree_is_hashed_and_staged_as_exactly_its_regular_files(entries):
    with tempfile.TemporaryDirectory() as tmp:
        root = os.fsencode(tmp) + b"/sub"
        os.mkdir(root)
        build(root, entries)
        submission = Submission.from_path(Path(os.fsdecode(root)))
        try:
            listed = {f.relative for f in submission_files(submission)}
            key = submission_key(submission)
            staged = stage_submission(submission, Path(tmp) / "staged")
        except SubmissionError:
            return
        assert len(key) == 64
        small = {f.relative for f in submission_files(submission) if f.size <= MAX_FILE_BYTES}
        assert regular_files(os.fsencode(staged)) == small
        assert listed <= regular_files(root) | {p for p in listed if p.endswith(b".ipynb")}
        assert not any(os.path.islink(os.path.join(folder, n)) for folder, dirs, files in os.walk(os.fsencode(staged))
                       for n in dirs + files)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(ENTRY, min_size=1, max_size=6))
def test_a_good_neighbour_of_any_tree_gets_its_solo_result(plans, server, entries):
    plan = plans(("relu",), True)
    with tempfile.TemporaryDirectory() as tmp:
        root = os.fsencode(tmp) + b"/odd"
        os.mkdir(root)
        build(root, entries)
        neighbour = Submission.from_path(good(Path(tmp), "ann", "examples/bob"))
        odd = Submission.from_path(Path(os.fsdecode(root)))
        pool = WorkerPool.of([server])
        solo = grade_many(plan, [neighbour], pool=pool)[0]
        together = grade_many(plan, [odd, neighbour, odd], pool=pool)
        assert together[1].to_json() == solo.to_json()
        assert all(r.submission == "odd" for r in (together[0], together[2]))
