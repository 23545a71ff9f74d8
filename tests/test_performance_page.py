"""Benchmarks append their runs to the docs' performance page: one table per benchmark, one row a run,
the hand-written rest of the page untouched."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import performance_page  # noqa: E402


def test_a_benchmarks_runs_go_to_its_own_table_and_leave_the_rest_of_the_page(tmp_path, monkeypatch):
    page = tmp_path / "performance.md"
    hand_written = "# Performance\n\n## Class grading\n\n| what | figure |\n| --- | --- |\n| x | 1 |\n"
    page.write_text(hand_written)
    monkeypatch.setattr(performance_page, "PAGE", page)
    monkeypatch.setattr(performance_page, "commit", lambda: "abc1234")
    monkeypatch.setattr(performance_page, "machine", lambda: "x86_64, 2 cores")

    performance_page.append_run("nbgrader_paths", ["ratio"], ["**29.7×**"], (0.6, 1.5))
    performance_page.append_run("class_grading", ["s a submission"], ["0.80 | 1.55"], (2.0, 2.1))
    performance_page.append_run("nbgrader_paths", ["ratio"], ["**27.7×**"], (0.9, 1.6))

    text = page.read_text()
    assert text.startswith(hand_written)
    assert text.count(performance_page.SECTION) == 1
    nbgrader = text[text.index("### `benchmarks/nbgrader_paths.py`"):text.index("<!-- end of nbgrader_paths -->")]
    rows = [line for line in nbgrader.splitlines() if line.startswith("| ") and "abc1234" in line]
    assert [row.split(" | ")[-1] for row in rows] == ["**29.7×** |", "**27.7×** |"]  # in the order run
    assert "| 0.6 → 1.5 |" in rows[0] and "| x86_64, 2 cores |" in rows[0]
    assert "| 0.80 / 1.55 |" in text  # a cell cannot break the table
