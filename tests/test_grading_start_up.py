"""Start-up overlaps the rest: a grading command starts its fork servers (which import torch) before it
loads the course, nbgrader or the plan, so that on two cores the imports run side by side."""
from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

import grader.pool
from grader.cli import main
from grader.integrations.nbgrader import cli as nbgrader_cli


def test_nbgrader_autograde_starts_its_servers_before_it_loads_the_course(monkeypatch, tmp_path: Path):
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
    monkeypatch.setattr(nbgrader_cli, "_load", load)
    result = CliRunner().invoke(main, ["nbgrader", "autograde", "losses", "--course-dir", str(tmp_path),
                                       "--course", str(tmp_path / "course.yaml")])
    assert "stop here" in result.output
    assert events == ["servers", "course", "closed"]

