"""Resumable grading: a key per submission (its files × the course × the options) and skip-done.

A finished submission has `DIR/<name>/results.json` and, written after it, the sidecar
`DIR/<name>/.grading.json` holding the key it was graded under and the grading details
(timings, limits hit) that results.json, whose shape docs/reference/results-schema.md fixes, does not carry. A rerun
skips a submission only when its sidecar's key equals the key now; an edited course, a
resubmission, other options or another torchgrade version give another key, so it is graded
again. A run killed between the two writes leaves no matching sidecar: that one is regraded.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import __version__
from .intake import Submission, submission_files
from .report.files import write_atomic
from .scoring import SubmissionResult, result_from_json

SIDECAR = ".grading.json"
RESULTS = "results.json"


def _digest(parts: Iterable[tuple[bytes, bytes]]) -> str:
    hasher = hashlib.sha256()
    for name, data in parts:
        hasher.update(name + b"\0" + len(data).to_bytes(8, "little") + data)
    return hasher.hexdigest()


def submission_key(submission: Submission) -> str:
    """A hash of the files staging would copy (intake's rules), by their names' bytes and contents."""
    return _digest((item.relative, item.path.read_bytes()) for item in submission_files(submission))


def course_files(course: Any) -> list[Path]:
    """course.yaml, every exercise file, every file an exercise names (reference, expected values …)
    and the Python files beside each named file (a reference may import its neighbours)."""
    root = Path(course.root).resolve()
    files = {Path(course.file).resolve(), *(Path(p).resolve() for p in course.exercise_files.values())}
    named: set[Path] = set()
    for exercise in course.exercises:
        for text in _strings(exercise.model_dump()):
            candidate = _file_named_by(root, text)
            if candidate is not None:
                named.add(candidate)
    for path in named:
        files.add(path)
        files.update(p.resolve() for p in path.parent.glob("*.py"))
    return sorted(files)


def _file_named_by(root: Path, text: str) -> Path | None:
    """The course file a YAML string names ("path" or "path:function"), or None.

    Every string is tried, so prose must fail quietly: a sentence longer than a file name's limit
    or one holding a NUL byte is not a path, not an error."""
    if not text or "\n" in text:
        return None
    try:
        candidate = (root / text.partition(":")[0]).resolve()
        return candidate if candidate.is_file() and root in candidate.parents else None
    except (OSError, ValueError):
        return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def course_key(course: Any, options: dict[str, Any] | None = None) -> str:
    """A hash of the course's files, the grading options and the torchgrade version."""
    root = Path(course.root).resolve()
    parts = [(os.fsencode(path.relative_to(root) if root in path.parents or path == root else path), path.read_bytes())
             for path in course_files(course)]
    parts.append((b"options", json.dumps({"version": __version__, **(options or {})}, sort_keys=True).encode()))
    return _digest(parts)


def grading_key(course_hash: str, submission_hash: str) -> str:
    return hashlib.sha256(f"{course_hash}:{submission_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class Done:
    """A submission already graded under the current key, read back from disk."""

    result: SubmissionResult
    details: dict[str, Any] = field(default_factory=dict)


def read_sidecar(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_sidecar(folder: Path, key: str, course_hash: str, details: dict[str, Any]) -> Path:
    """Written last: its presence with the right key is what marks the submission as done."""
    path = folder / SIDECAR
    write_atomic(path, json.dumps({"key": key, "course": course_hash, "details": details},
                                  indent=2, sort_keys=True, default=str) + "\n")
    return path


def load_done(folder: Path, key: str, required: Iterable[str] = ()) -> Done | None:
    """The finished result in `folder` if it was graded under `key` and every required file exists."""
    sidecar = read_sidecar(folder)
    if sidecar is None or sidecar.get("key") != key:
        return None
    if not all((folder / name).is_file() for name in required):
        return None
    result = load_result(folder)
    if result is None:
        return None
    return Done(result, dict(sidecar.get("details") or {}))


def load_result(folder: Path) -> SubmissionResult | None:
    """results.json read back (with the sidecar's details), or None if it is missing or unreadable."""
    try:
        data = json.loads((folder / RESULTS).read_text(encoding="utf-8"))
        result = result_from_json(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if isinstance(data.get("error"), str):
        result.details["error"] = data["error"]  # a submission that could not be graded
    sidecar = read_sidecar(folder) or {}
    result.details.update(sidecar.get("details") or {})
    return result


def load_all(out_dir: Path) -> list[SubmissionResult]:
    """Every readable DIR/<name>/results.json, by submission name."""
    results = [load_result(path.parent) for path in sorted(Path(out_dir).glob(f"*/{RESULTS}"))]
    return sorted((r for r in results if r is not None), key=lambda r: r.submission)


class ShowError(Exception):
    """The path holds no readable results.json."""


def load_for_show(path: Path) -> tuple[SubmissionResult, Path]:
    """The result in `path` (a submission's results folder, or its results.json) and its folder."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    result = load_result(folder)
    if result is None:
        raise ShowError(f"{path} holds no readable results.json; give OUT/<submission> of a torchgrade grade run")
    return result, folder
