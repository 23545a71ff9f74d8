"""What a sandboxed child saved for one exercise, read as the grader reads it: never through a symlink put
in its place, never waiting on a named pipe, and charged to the submission's memory budget."""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from . import wire


@dataclass(frozen=True)
class Record:
    """What the child saved for one exercise: the bytes as read, and what they hold."""

    raw: bytes
    data: dict



def read_record(file: Path, earlier: Record | None = None, budget: wire.Budget | None = None) -> Record | None:
    """None if the child saved no regular file; raises if what it saved is not a record. `earlier`: a
    record read before from the same file, returned as it is if the bytes are the same — and charged to
    `budget` all the same, so what a budget allows does not depend on what was read before.

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
        if budget is not None:
            budget.charge(wire.estimated_cost(raw, budget.left))
        return earlier
    return Record(raw, wire.loads(raw, budget=budget))


def is_saved(file: Path) -> bool:
    """Whether the child saved a regular file there (what read_record would read, not a link or a pipe)."""
    try:
        return stat.S_ISREG(os.lstat(file).st_mode)
    except OSError:
        return False
