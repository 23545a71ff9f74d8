"""What a student or teacher reads in a terminal: a table, then the feedback of what failed."""
from __future__ import annotations

import shutil
import textwrap

from ..scoring import SubmissionResult
from ..text import unicode_safe as u


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
    lines = [f"{u(result.submission)}: {result.score:g} / {result.max_score:g}",
             f"{'exercise':<{id_w}}  {'score':>{score_w}}  first failure", "-" * min(width, id_w + score_w + 4 + rest)]
    for exercise_id, score, failure in rows:
        lines.append(f"{exercise_id:<{id_w}}  {score:>{score_w}}  {textwrap.shorten(failure, rest, placeholder='…')}")
    return "\n".join(lines)


def render_feedback(result: SubmissionResult) -> str:
    """The full feedback of every check that did not pass."""
    blocks = []
    for exercise in result.exercises:
        for check in exercise.checks:
            if check.status in ("failed", "error"):
                body = textwrap.indent(u(check.feedback), "  ")
                blocks.append(f"✗ {u(exercise.id)}::{u(check.name)} ({check.score:g}/{check.max_score:g})\n{body}")
    return "\n\n".join(blocks)


def render_summary(results: list[SubmissionResult]) -> str:
    name_w = max([len("submission")] + [len(u(r.submission)) for r in results])
    lines = [f"{'submission':<{name_w}}  score"]
    lines += [f"{u(r.submission):<{name_w}}  {r.score:g} / {r.max_score:g}"
              + ("  (could not be graded)" if r.details.get("error") else "")
              for r in sorted(results, key=lambda r: r.submission)]
    return "\n".join(lines)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and "cases failed" in lines[0]:
        return lines[1]
    return lines[0] if lines else ""
