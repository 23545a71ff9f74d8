"""Gradescope's results.json: one test per check; hidden checks show only after publication."""
from __future__ import annotations

from typing import Any

from ..scoring import SubmissionResult
from ..text import json_safe
from .pictures import not_a_file

#: Said where a feedback names a picture: a Gradescope student cannot open the grader's files.
SEE_PICTURES = ("The picture is not shown here. To see it beside this feedback, check your work in the student "
                "bundle with: torchgrade check --html feedback.html")


def gradescope_json(result: SubmissionResult) -> dict[str, Any]:
    tests = []
    for exercise in result.exercises:
        for check in exercise.checks:
            tests.append({
                "name": f"{exercise.id}::{check.name}",
                "name_format": "text",
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.status == "passed" else "failed",
                "output": not_a_file(check.feedback, SEE_PICTURES if not check.hidden else "The picture is not shown here."),
                "output_format": "text",
                "visibility": "after_published" if check.hidden else "visible",
                "tags": [exercise.id, check.kind],
            })
    output = f"{result.submission}: {result.score:g} / {result.max_score:g}"
    if result.details.get("error"):
        output += f"\nThis submission could not be graded: {result.details['error']}"
    return json_safe({"score": result.score, "output": output,
                      "visibility": "visible", "stdout_visibility": "hidden", "tests": tests})
