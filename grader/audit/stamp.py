"""The stamp a green audit leaves next to course.yaml: a hash of the course's files when it ran.

`torchgrade validate --require-audit` compares it with the files as they are now, so a course
whose exercises, solutions or catalogue changed after its last green audit is refused.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..resume import course_key
from ..spec import Course

STAMP = ".torchgrade-audit.json"


def audit_key(course: Course) -> str:
    """A hash of course.yaml, every exercise file, the files they name (solutions, teacher-only files)."""
    return course_key(course, {"purpose": "audit"})


def write_stamp(course: Course, summary: dict) -> Path:
    path = Path(course.root) / STAMP
    data = {"course_key": audit_key(course), **summary}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def stamp_problem(course: Course) -> str | None:
    """None when the last audit was green and ran on the course's current files; else why not, for the teacher."""
    path = Path(course.root) / STAMP
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{path}: the course has not been audited: run torchgrade audit"
    except (OSError, ValueError) as exc:
        return f"{path}: cannot read the audit's stamp ({exc}): run torchgrade audit again"
    if not isinstance(data, dict) or data.get("course_key") != audit_key(course):
        return (f"{path}: the course's files changed since its last audit (exercises, solutions or catalogue): "
                f"run torchgrade audit again")
    return None
