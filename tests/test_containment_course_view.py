"""The course a grading runs under is hidden from the child, however the teacher named course.yaml."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from test_shard import REPO, small_course

PEEK = '''import os


def sigmoid_grad(x):
    seen = []
    for name in ("solutions/activations.py", "exercises/activations/sigmoid_grad.yaml", "course.yaml"):
        try:
            os.stat(os.path.join({root!r}, name))
            seen.append(name)
        except OSError:
            pass
    raise RuntimeError("seen[" + ",".join(seen) + "]")
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="the course view is made under root (a child of its own uid)")
def test_a_child_cannot_stat_the_course_named_by_a_relative_path(tmp_path, monkeypatch):
    for folder in [tmp_path, *tmp_path.parents]:  # pytest's 0700 folders would hide the course on their own
        if folder == Path(folder.anchor) or folder == Path("/tmp"):
            break
        folder.chmod(0o755)
    course = small_course(tmp_path / "course")
    root = str(course.file.parent.resolve())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "activations.py").write_text(PEEK.format(root=root))
    monkeypatch.chdir(course.file.parent)  # `torchgrade grade` run inside the course folder: course.yaml is "."
    outcome = CliRunner().invoke(main, ["grade", str(tmp_path / "sub"), "--out", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    result = json.loads((tmp_path / "out" / "sub" / "results.json").read_text())
    feedback = next(c["feedback"] for e in result["exercises"] if e["id"] == "sigmoid_grad" for c in e["checks"])
    assert "RuntimeError: seen[]" in feedback, feedback  # not even the names of the course's files
