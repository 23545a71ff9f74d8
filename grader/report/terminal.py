"""What a student or teacher reads in a terminal: a table, then the feedback of what failed.

`grade` prints one line per submission (`render_lines`) and a short class summary
(`class_report.render_class_brief`); the full feedback is for `--verbose`, `show` and `check`.
"""
from __future__ import annotations

import shutil
import textwrap
from typing import Callable, Iterable

from ..scoring import CheckResult, ExerciseResult, SubmissionResult, note_of
from ..text import shown, unicode_safe as u


def _width() -> int:
    return max(60, min(120, shutil.get_terminal_size((100, 20)).columns))


def render_table(result: SubmissionResult) -> str:
    width = _width()
    rows = [(u(e.id), f"{e.score:g}/{e.max_score:g}",
             "ok" if e.first_failure is None else u(f"{e.first_failure.name}: {_first_line(e.first_failure.feedback)}"))
            for e in result.exercises]
    id_w = max([len("exercise")] + [len(r[0]) for r in rows])
    score_w = max([len("score")] + [len(r[1]) for r in rows])
    rest = max(20, width - id_w - score_w - 4)
    lines = [f"{shown(result.submission)}: {result.score:g} / {result.max_score:g}",
             f"{'exercise':<{id_w}}  {'score':>{score_w}}  first failure", "-" * min(width, id_w + score_w + 4 + rest)]
    for exercise_id, score, failure in rows:
        lines.append(f"{exercise_id:<{id_w}}  {score:>{score_w}}  {textwrap.shorten(failure, rest, placeholder='…')}")
    return "\n".join(lines)


def render_feedback(result: SubmissionResult, pictures: Callable[[str], str] | None = None) -> str:
    """The full feedback of every check that did not pass; `pictures` rewrites the picture files it names
    (report.pictures) to where the reader can open them."""
    blocks = []
    for exercise in result.exercises:
        for check in exercise.checks:
            if check.status in ("failed", "error"):
                text = pictures(check.feedback) if pictures else check.feedback
                body = textwrap.indent(u(text), "  ")
                blocks.append(f"✗ {u(exercise.id)}::{u(check.name)} ({check.score:g}/{check.max_score:g})\n{body}")
            elif (note := note_of(check)) is not None:
                blocks.append(f"! {u(exercise.id)}::{u(check.name)} ({check.score:g}/{check.max_score:g}, a note)\n"
                              f"{textwrap.indent(u(note), '  ')}")
    return "\n\n".join(blocks)


def first_failure(result: SubmissionResult) -> tuple[ExerciseResult, CheckResult] | None:
    """The first check, in the course's order, that did not pass."""
    for exercise in result.exercises:
        if exercise.first_failure is not None:
            return exercise, exercise.first_failure
    return None


def grading_time(result: SubmissionResult) -> float | None:
    """Seconds from staging to scores, when this run graded the submission (None for a reused result)."""
    seconds = result.details.get("grade_s", result.details.get("wall_s"))
    return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


def render_lines(results: Iterable[SubmissionResult]) -> str:
    """One line per submission: name, score, grading time, the first failing exercise and why."""
    results = sorted(results, key=lambda r: r.submission)
    if not results:
        return "No submissions."
    rows = []
    for result in results:
        seconds = grading_time(result)
        failing = first_failure(result)
        if result.details.get("error"):
            why = f"not graded: {_first_line(u(str(result.details['error'])))}"
        elif failing is None:
            why = "-"
        else:
            exercise, check = failing
            why = u(f"{exercise.id}::{check.name}: {_first_line(check.feedback)}")
        rows.append((shown(result.submission), f"{result.score:g} / {result.max_score:g}",
                     _seconds(seconds) if seconds is not None else "reused", why))
    header = ("submission", "score", "time", "first failure")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    rest = max(20, _width() - sum(widths) - 6)
    lines = []
    for name, score, seconds, why in [header, *rows]:
        lines.append(f"{name:<{widths[0]}}  {score:>{widths[1]}}  {seconds:>{widths[2]}}  "
                     f"{textwrap.shorten(why, rest, placeholder='…')}".rstrip())
    return "\n".join(lines)


def _seconds(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s"


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and "cases failed" in lines[0]:
        return lines[1]
    return lines[0] if lines else ""
