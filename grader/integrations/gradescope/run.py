"""One Gradescope grading: ROOT/submission → ROOT/results/results.json, in Gradescope's format.

Whatever happens, a results.json is written: a submission that cannot be read gets 0 points and a
message for the student; a course or sandbox problem gets a message that asks for the teacher.
Run as `python -m grader.integrations.gradescope.run --root ROOT --course COURSE`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import DEFAULT_ROOT, ROOT_VARIABLE

TEACHER_PROBLEM = ("The autograder could not grade this submission (a problem of the autograder, not of your "
                   "work). Please tell your teacher.")


def submission_folder(submitted: Path, modules: tuple[str, ...]) -> Path:
    """The folder that holds the work: `submitted`, or its one subfolder when the student uploaded a folder."""
    own = [p for p in submitted.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    has_work = any(p.is_file() and (p.suffix == ".ipynb" or p.stem in modules) for p in own)
    folders = [p for p in own if p.is_dir()]
    if not has_work and len(folders) == 1 and not any(p.is_file() for p in own):
        return folders[0]
    return submitted


def failed_results(message: str, started: float) -> dict[str, Any]:
    return {"score": 0.0, "execution_time": round(time.monotonic() - started, 2), "output": message,
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def grade(root: Path, course_path: Path) -> dict[str, Any]:
    """Gradescope's results for ROOT/submission, hidden checks included."""
    started = time.monotonic()
    from ...grading import Grader, read_submissions
    from ...intake import SubmissionError
    from ...report import gradescope_json
    from ...sandbox import SandboxRefused, policy
    from ...spec import load_course

    course = load_course(course_path)
    try:
        warning = policy.check(course.sandbox.without_landlock)
    except SandboxRefused as exc:
        print(exc, file=sys.stderr)
        return failed_results(TEACHER_PROBLEM, started)
    for text in (warning, policy.exposure(course.root)):
        if text:
            print(text, file=sys.stderr)  # for the teacher: Gradescope keeps stdout and stderr from students
    try:
        (submission,) = read_submissions([submission_folder(root / "submission", tuple(course.modules))], course)
    except (SubmissionError, OSError) as exc:
        return failed_results(f"Your submission could not be read: {exc}", started)
    with Grader.open(course, hidden=True) as grader:
        result = grader.grade(submission)
    data = gradescope_json(result)
    data["execution_time"] = round(time.monotonic() - started, 2)
    data["output"] = (f"{result.score:g} / {result.max_score:g} points. Each test below is one check of one "
                      f"exercise; its text names the input that failed and what was expected.")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_VARIABLE, DEFAULT_ROOT)))
    parser.add_argument("--course", type=Path, default=None,
                        help="course.yaml (default: ROOT/source/course/course.yaml)")
    args = parser.parse_args(argv)
    root: Path = args.root
    started = time.monotonic()
    try:
        data = grade(root, args.course or root / "source" / "course" / "course.yaml")
    except Exception as exc:  # the course or the grader itself: the teacher reads stdout, the student a note
        print(f"torchgrade could not grade: {type(exc).__name__}: {exc}", file=sys.stderr)
        data = failed_results(TEACHER_PROBLEM, started)
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {results}: {data.get('score', 0):g} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
