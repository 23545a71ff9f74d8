"""gradebook.csv: one row per submission, one column per exercise, then the total.

Names are written `one_line`: a folder named with a carriage return or a non-UTF-8 byte is one row still;
a name a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) is shown with a leading quote."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable

from ..scoring import SubmissionResult
from .files import write_atomic
from ..text import one_line, spreadsheet_cell


def gradebook_csv(results: Iterable[SubmissionResult], exercise_ids: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", *map(one_line, exercise_ids), "score", "max_score"])
    for result in sorted(results, key=lambda r: r.submission):
        scores = {e.id: e.score for e in result.exercises}
        writer.writerow([spreadsheet_cell(result.submission), *(_num(scores.get(i, 0.0)) for i in exercise_ids),
                         _num(result.score), _num(result.max_score)])
    return buffer.getvalue()


def write_gradebook(results: Iterable[SubmissionResult], exercise_ids: list[str], path: Path) -> Path:
    write_atomic(Path(path), gradebook_csv(results, exercise_ids))
    return Path(path)


def _num(value: float) -> str:
    return f"{value:g}"
