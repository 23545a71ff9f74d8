"""One exercise's result as the text a student reads under a test cell or in formgrader."""
from __future__ import annotations

import textwrap

from ...scoring import ExerciseResult

MARK = {"passed": "✓", "failed": "✗", "error": "✗", "skipped": "–"}


def exercise_feedback(exercise: ExerciseResult) -> str:
    """A score line, then one line per check; the full feedback under each that did not pass."""
    lines = [f"{exercise.id}: {exercise.score:g} / {exercise.max_score:g} points"]
    for check in exercise.checks:
        hidden = " (hidden)" if check.hidden else ""
        lines.append(f"  {MARK.get(check.status, '?')} {check.name}{hidden}: {check.score:g}/{check.max_score:g}")
        if check.status != "passed" and check.feedback:
            lines.append(textwrap.indent(check.feedback.strip(), "      "))
    return "\n".join(lines)
