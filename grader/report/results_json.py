"""results.json: the native result, in exactly the shape docs/reference/results-schema.md gives (grader.results_shape)."""
from __future__ import annotations

import json
from pathlib import Path

from ..scoring import SubmissionResult
from .files import write_atomic


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


def write_results(result: SubmissionResult, out_dir: Path) -> Path:
    """results.json, after the feedback files it may name (so a finished results.json is complete)."""
    write_attachments(result, Path(out_dir) / result.submission)
    path = results_path(out_dir, result.submission)
    write_atomic(path, json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path
