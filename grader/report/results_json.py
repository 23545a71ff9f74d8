"""results.json: the native result, in exactly the shape docs/reference/results-schema.md gives
(typed in grader.results_shape).

A submission that could not be graded carries a top-level `"error"` (the contract allows it), the
reason a teacher can act on; its exercises are then all `error`. Every string is written UTF-8-safe
(`grader.text`), whatever a learner's answers, exceptions or file names held."""
from __future__ import annotations

import json
from pathlib import Path

from ..scoring import SubmissionResult
from .files import write_atomic
from ..text import json_safe


def results_path(out_dir: Path, submission: str) -> Path:
    return Path(out_dir) / submission / "results.json"


def write_attachments(result: SubmissionResult, folder: Path) -> list[Path]:
    """The pictures the feedback names (`feedback/<file>`), written under `folder`."""
    written = []
    for exercise in result.exercises:
        for check in exercise.checks:
            for name, data in check.attachments.items():
                target = Path(folder) / "feedback" / Path(name).name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                written.append(target)
    return written


def results_document(result: SubmissionResult) -> dict:
    """What results.json holds: the result's JSON, with `error` when it could not be graded."""
    document = result.to_json()
    if result.details.get("error"):
        document["error"] = str(result.details["error"])
    return json_safe(document)


def write_results(result: SubmissionResult, out_dir: Path) -> Path:
    """results.json, after the feedback files it may name (so a finished results.json is complete)."""
    write_attachments(result, Path(out_dir) / result.submission)
    path = results_path(out_dir, result.submission)
    write_atomic(path, json.dumps(results_document(result), indent=2, ensure_ascii=False) + "\n")
    return path
