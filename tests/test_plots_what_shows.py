"""Plots are judged on what the picture shows: hidden or transparent artists, points outside the
view and invisible grid lines do not count; a grid that can be seen does, minor or major."""
from __future__ import annotations

import pytest

from conftest import REPO, check_of

SOLUTION = (REPO / "solutions" / "plots.py").read_text()


def graded(grade_files, replace: dict[str, str], exercise: str):
    source = SOLUTION
    for old, new in replace.items():
        assert old in source, old
        source = source.replace(old, new)
    return grade_files({"plots.py": source}, exercises=[exercise])


@pytest.mark.parametrize("hidden", ["alpha=0", "lw=0", "color='none'"])
def test_a_curve_that_cannot_be_seen_does_not_count(grade_files, hidden):
    result = graded(grade_files, {"left.plot(x.detach(), y.detach())":
                                  f"left.plot(x.detach(), y.detach(), {hidden})\n    left.axhline(0.5)"},
                    "plot_activation")
    assert check_of(result, "plot_activation", "figure").status == "failed"


@pytest.mark.parametrize("hidden", ["left.bar(classes, once, alpha=0)",
                                    "[b.set_visible(False) for b in left.bar(classes, once)]",
                                    "left.bar(classes, once); left.set_ylim(2, 3)"])
def test_bars_that_cannot_be_seen_do_not_count(grade_files, hidden):
    result = graded(grade_files, {"left.bar(classes, once)": hidden}, "plot_softmax")
    assert check_of(result, "plot_softmax", "figure").status == "failed"


def test_a_curve_zoomed_to_part_of_the_range_counts_only_what_shows(grade_files):
    result = graded(grade_files, {"        ax.grid(True)\n": "        ax.grid(True)\n        ax.set_xlim(-5, 5)\n"},
                    "plot_activation")
    figure = check_of(result, "plot_activation", "figure")
    assert figure.status == "failed" and "[-5, 5]" in figure.feedback


def test_a_grid_is_judged_by_whether_its_lines_can_be_seen(grade_files):
    invisible = graded(grade_files, {"        ax.grid(True)\n": "        ax.grid(True, alpha=0.0)\n"},
                       "plot_activation")
    assert check_of(invisible, "plot_activation", "style").status == "failed"
    minor = graded(grade_files, {"        ax.grid(True)\n": "        ax.minorticks_on()\n        ax.grid(True, which='minor')\n"},
                   "plot_activation")
    assert check_of(minor, "plot_activation", "style").status == "passed"


def test_markers_without_a_line_still_show_the_curve(grade_files):
    result = graded(grade_files, {"left.plot(x.detach(), y.detach())": "left.plot(x.detach(), y.detach(), 'o', ms=2)"},
                    "plot_activation")
    assert check_of(result, "plot_activation", "figure").status == "passed"
