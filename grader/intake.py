"""Submissions as they arrive (a folder of modules) → a private copy for the sandbox.

The child only ever sees the staged copy, so it can neither change the original nor find
other students' work next to it.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 5 * 1024 * 1024
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".venv", "venv", "node_modules"}


class SubmissionError(Exception):
    """A submission that cannot be read at all; the message is for the student."""


@dataclass(frozen=True)
class Submission:
    name: str
    path: Path

    @classmethod
    def from_path(cls, path: Path) -> "Submission":
        path = Path(path)
        if not path.exists():
            raise SubmissionError(f"{path} does not exist")
        name = path.stem if path.is_file() else path.resolve().name
        return cls(name, path)


def stage_submission(submission: Submission, target: Path) -> Path:
    """Copy the learner's Python files into `target`; return it."""
    target.mkdir(parents=True)
    source = submission.path
    if source.is_file():
        if source.suffix == ".py":
            shutil.copy2(source, target / source.name)
            return target
        raise SubmissionError(f"{source.name}: a submission is a folder of modules")
    for item in sorted(source.rglob("*")):
        relative = item.relative_to(source)
        if any(part in SKIP_DIRS for part in relative.parts) or item.is_symlink():
            continue
        if item.is_dir():
            (target / relative).mkdir(parents=True, exist_ok=True)
        elif item.is_file() and item.stat().st_size <= MAX_FILE_BYTES:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item, target / relative)
    return target
