"""A warm grader for one notebook kernel: `python -m grader.integrations.nbgrader.session COURSE_YAML`.

The kernel (see kernel.py) starts it at its first test cell and sends one JSON line per test
cell: {"exercise": id, "hidden": bool, "cells": [source, ...]} — the code the kernel has run.
It answers one JSON line: {"score", "max_score", "text", "pictures": [[name, base64 PNG], ...]} or
{"error"}; the text names each picture as shown below it, never as a file the student cannot open. It keeps torch imported,
a fork server warm and one grader per (exercise, hidden), so only the first cell pays for them.
The learner's code runs in the sandbox, never here. It ends when its stdin closes.
"""
from __future__ import annotations

import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ...grading import Grader, read_submissions, start_servers
from ...report.pictures import rewrite_mentions
from . import cells


class KernelGrader:
    def __init__(self, course_file: str):
        # the fork server starts (and imports torch) while this process imports torch too: on two cores
        # that halves the first cell's wait
        self.servers = start_servers(1)
        from ...spec import load_course

        self.course = load_course(course_file)
        self.scratch = Path(tempfile.mkdtemp(prefix="torchgrade-kernel-"))
        self.graders: dict[tuple[str, bool], Grader] = {}

    def grade(self, exercise_id: str, hidden: bool, sources: list[str]) -> dict[str, Any]:
        from .feedback import exercise_feedback

        try:
            exercise = self.course.exercise(exercise_id)
        except KeyError:
            return {"error": f"the course {self.course.file} has no exercise '{exercise_id}'"}
        key = (exercise_id, hidden)
        if key not in self.graders:
            # one exercise's plan each, built here: a notebook's many one-exercise plans would crowd the
            # course's own plans out of the plan cache
            self.graders[key] = Grader.open(self.course, hidden=hidden, exercises=[exercise_id], cache=False,
                                            servers=self.servers,
                                            workdir=self.scratch / f"plan-{exercise_id}-{int(hidden)}")
        folder = Path(tempfile.mkdtemp(prefix="cells-", dir=self.scratch))
        try:
            notebook = folder / "kernel" / f"{exercise.module}.ipynb"
            notebook.parent.mkdir()
            notebook.write_text(json.dumps(kernel_notebook(sources)))
            (submission,) = read_submissions([notebook], self.course)
            result = self.graders[key].grade(submission)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if result.details.get("error"):  # not graded at all (e.g. the sandbox refused): the test cell says why
            return {"error": result.details["error"]}
        (exercise_result,) = result.exercises
        pictures = failing_pictures(exercise_result)
        text = rewrite_mentions(exercise_feedback(exercise_result),
                                lambda name: f"the picture {name} ({'below' if name in pictures else 'not drawn'})")
        return {"score": exercise_result.score, "max_score": exercise_result.max_score, "text": text,
                "pictures": [[name, base64.b64encode(data).decode("ascii")] for name, data in pictures.items()]}

    def close(self) -> None:
        self.servers.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def failing_pictures(exercise: Any) -> dict[str, bytes]:
    """The PNG pictures of the checks that did not pass, each once: the kernel shows them under the feedback."""
    pictures: dict[str, bytes] = {}
    for check in exercise.checks:
        if check.status != "passed":
            for name, data in check.attachments.items():
                if name.lower().endswith(".png"):
                    pictures.setdefault(Path(name).name, data)
    return pictures


def kernel_notebook(sources: list[str]) -> dict[str, Any]:
    """The cells the kernel ran, in order, as a notebook (test cells left out). IPython's history is
    indexed by execution count, so each cell keeps its `In [n]`: feedback names the cell as Jupyter shows it."""
    return cells.notebook([dict(cells.code_cell(s), execution_count=n) for n, s in enumerate(sources)
                           if s.strip() and not is_test_source(s)])


def is_test_source(source: str) -> bool:
    return source.lstrip().startswith(cells.TEST_MARKER)


def serve(course_file: str) -> None:
    try:
        grader = KernelGrader(course_file)
    except Exception as exc:  # a broken course.yaml, torch missing …: the test cell says so
        print(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return
    print(json.dumps({"ready": True}), flush=True)
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                reply = grader.grade(request["exercise"], bool(request.get("hidden")), list(request["cells"]))
            except Exception as exc:  # the cell shows it; the kernel scores 0
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        grader.close()


if __name__ == "__main__":
    serve(sys.argv[1])
