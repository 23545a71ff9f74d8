"""Start-up overlaps the rest: a grading command starts its fork servers (which import torch) before it
loads the course, nbgrader or the plan, so that on two cores the imports run side by side."""
from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import grader.pool
from grader.cli import main
from grader.integrations.nbgrader import cli as nbgrader_cli


def _record_order(monkeypatch, module) -> list[str]:
    """Fork servers and the course loader replaced by stand-ins that record when they are started."""
    events: list[str] = []

    class Servers:
        jobs = 2

        def __init__(self, jobs: int, preload: tuple[str, ...] = ()):
            events.append("servers")

        def close(self) -> None:
            events.append("closed")

    def load(path: Path):
        events.append("course")
        raise click.ClickException("stop here")

    monkeypatch.setattr(grader.pool, "WorkerPool", Servers)
    monkeypatch.setattr(module, "_load", load)
    return events


def test_grade_starts_its_servers_before_it_loads_the_course(monkeypatch, tmp_path: Path):
    import grader.cli
    events = _record_order(monkeypatch, grader.cli)
    result = CliRunner().invoke(main, ["grade", str(tmp_path), "--out", str(tmp_path / "out"),
                                       "--course", str(tmp_path / "course.yaml")])
    assert "stop here" in result.output
    assert events == ["servers", "course", "closed"]


def test_nbgrader_autograde_starts_its_servers_before_it_loads_the_course(monkeypatch, tmp_path: Path):
    events = _record_order(monkeypatch, nbgrader_cli)
    result = CliRunner().invoke(main, ["nbgrader", "autograde", "losses", "--course-dir", str(tmp_path),
                                       "--course", str(tmp_path / "course.yaml")])
    assert "stop here" in result.output
    assert events == ["servers", "course", "closed"]


def test_class_grading_stages_a_submission_before_it_waits_for_a_fork_server(tmp_path: Path, monkeypatch):
    """While the servers start (or are busy with other submissions), the next submission is staged already."""
    import tempfile
    from types import SimpleNamespace

    from grader.batch import grade_many
    from grader.intake import Submission

    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "activations.py").write_text("def relu(x):\n    return x.clamp(min=0)\n")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    seen_when_waiting: list[list[str]] = []

    class Stop(Exception):
        pass

    class Waiting:
        jobs = 1

        def get(self):
            seen_when_waiting.append(sorted(p.name for p in temporary.glob("torchgrade-scratch-*/*/submission/*")))
            raise Stop

    plan = SimpleNamespace(course=SimpleNamespace(modules=("activations",)))
    with pytest.raises(Stop):
        grade_many(plan, [Submission("alice", folder, ("activations",))], pool=Waiting())  # type: ignore[arg-type]
    assert seen_when_waiting == [["activations.py"]]
    assert not list(temporary.iterdir())  # the staged copy and the scratch folder are gone
