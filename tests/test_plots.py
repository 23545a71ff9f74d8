"""Plot exercises: full marks for the reference, and each typical mistake costs its own exercise only.

Every submission here has a correct plot_softmax and a broken plot_activation, or the reverse,
and is graded through the real sandbox (conftest.grade_files).
"""
from __future__ import annotations

from pathlib import Path

from conftest import REPO, check_of, scores

from grader.report import write_results

PLOTS = ["plot_activation", "plot_softmax"]
MAX = {"plot_activation": 10.0, "plot_softmax": 6.0}

GOOD_ACTIVATION = '''
import matplotlib.pyplot as plt
import torch

F = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
     "leaky_relu": torch.nn.functional.leaky_relu}

def plot_activation(name, path):
    x = torch.linspace(-10, 10, 801, requires_grad=True)
    y = F[name](x)
    y.sum().backward()
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 2.5))
    a.plot(x.detach(), y.detach()); a.set_title(name); a.grid(True)
    b.plot(x.detach(), x.grad); b.set_title(name + "'"); b.grid(True)
    fig.savefig(path, dpi=60)
    return fig
'''

GOOD_SOFTMAX = '''
import matplotlib.pyplot as plt
import torch

def plot_softmax(logits, path):
    p = torch.softmax(logits, dim=-1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 2.5))
    a.bar(range(len(p)), p); a.set_title("softmax")
    b.bar(range(len(p)), torch.softmax(p, dim=-1)); b.set_title("softmax twice")
    fig.savefig(path, dpi=60)
    return fig
'''


def grade_plots(grade_files, text: str):
    return grade_files({"plots.py": text}, exercises=PLOTS)


def failed(result, exercise_id: str) -> set[str]:
    exercise = next(e for e in result.exercises if e.id == exercise_id)
    return {c.name for c in exercise.checks if c.status != "passed"}


def test_solutions_score_full_marks(grade_files):
    result = grade_plots(grade_files, (REPO / "solutions" / "plots.py").read_text())
    assert scores(result) == MAX


def test_alice_desktop_tutorial_style_scores_full_marks(grade_files):
    result = grade_plots(grade_files, (REPO / "examples" / "alice" / "plots.py").read_text())
    assert scores(result) == MAX


def test_axes_swapped_fails_only_plot_activation_and_says_swapped(grade_files):
    swapped = GOOD_ACTIVATION.replace("a.plot(x.detach(), y.detach())", "a.plot(x.detach(), x.grad)") \
        .replace("b.plot(x.detach(), x.grad)", "b.plot(x.detach(), y.detach())")
    result = grade_plots(grade_files, swapped + GOOD_SOFTMAX)
    assert failed(result, "plot_activation") == {"figure"}
    assert scores(result)["plot_softmax"] == MAX["plot_softmax"]
    assert "Your axes are swapped" in check_of(result, "plot_activation", "figure").feedback


def test_wrong_function_drawn_fails_only_plot_activation_and_names_what_it_looks_like(grade_files):
    wrong = GOOD_ACTIVATION.replace('"leaky_relu": torch.nn.functional.leaky_relu', '"leaky_relu": torch.relu')
    result = grade_plots(grade_files, wrong + GOOD_SOFTMAX)
    assert failed(result, "plot_activation") == {"figure"}
    assert scores(result)["plot_softmax"] == MAX["plot_softmax"]
    feedback = check_of(result, "plot_activation", "figure").feedback
    assert "1 of 4 cases failed" in feedback and "'leaky_relu'" in feedback
    assert "It looks like relu(x) instead" in feedback


def test_no_file_saved_fails_only_the_saved_check_of_its_exercise(grade_files):
    unsaved = GOOD_SOFTMAX.replace("    fig.savefig(path, dpi=60)\n    return fig", "    return fig")
    result = grade_plots(grade_files, GOOD_ACTIVATION + unsaved)
    assert failed(result, "plot_softmax") == {"saved"}
    assert scores(result)["plot_activation"] == MAX["plot_activation"]
    assert "No file was saved at path" in check_of(result, "plot_softmax", "saved").feedback


def test_file_saved_under_another_name_is_named_in_the_feedback(grade_files):
    elsewhere = GOOD_SOFTMAX.replace("fig.savefig(path, dpi=60)", "fig.savefig('softmax.png', dpi=60)")
    result = grade_plots(grade_files, GOOD_ACTIVATION + elsewhere)
    assert failed(result, "plot_softmax") == {"saved"}
    assert "Your code saved softmax.png instead" in check_of(result, "plot_softmax", "saved").feedback


def test_raw_logits_drawn_instead_of_softmax_fails_only_plot_softmax(grade_files):
    raw = GOOD_SOFTMAX.replace("a.bar(range(len(p)), p)", "a.bar(range(len(p)), logits)")
    result = grade_plots(grade_files, GOOD_ACTIVATION + raw)
    assert failed(result, "plot_softmax") == {"figure"}
    assert scores(result)["plot_activation"] == MAX["plot_activation"]
    assert "It looks like the raw logits instead" in check_of(result, "plot_softmax", "figure").feedback


def test_x_range_too_narrow_fails_only_plot_activation(grade_files):
    narrow = GOOD_ACTIVATION.replace("torch.linspace(-10, 10, 801", "torch.linspace(-5, 5, 801")
    result = grade_plots(grade_files, narrow + GOOD_SOFTMAX)
    assert failed(result, "plot_activation") == {"figure"}
    assert scores(result)["plot_softmax"] == MAX["plot_softmax"]
    assert "only over [-5, 5]" in check_of(result, "plot_activation", "figure").feedback


def test_missing_grid_and_titles_cost_only_the_style_check(grade_files):
    bare = GOOD_ACTIVATION.replace("a.set_title(name); a.grid(True)", "").replace(
        "b.set_title(name + \"'\"); b.grid(True)", "b.grid(True)")
    result = grade_plots(grade_files, bare + GOOD_SOFTMAX)
    assert failed(result, "plot_activation") == {"style"}
    feedback = check_of(result, "plot_activation", "style").feedback
    assert "left and right axes have no title" in feedback and "left axes shows no grid" in feedback


def test_returning_nothing_costs_only_the_saved_check(grade_files):
    result = grade_plots(grade_files, GOOD_ACTIVATION.replace("    return fig", "    pass") + GOOD_SOFTMAX)
    assert failed(result, "plot_activation") == {"saved"}
    assert "returned NoneType, not the Figure" in check_of(result, "plot_activation", "saved").feedback


def test_bob_feedback_pictures_are_written_where_the_feedback_names_them(grade_files, tmp_path):
    result = grade_files({"plots.py": (REPO / "examples" / "bob" / "plots.py").read_text()},
                         exercises=PLOTS, name="bob")
    write_results(result, tmp_path)
    feedback_dir = tmp_path / "bob" / "feedback"
    for exercise in PLOTS:
        text = check_of(result, exercise, "figure").feedback
        named = [word.strip(".,()") for word in text.split() if word.startswith("feedback/")]
        assert any(name.endswith("-side-by-side.png") for name in named), text
        for name in named:
            picture = feedback_dir / Path(name).name
            assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
    assert (feedback_dir / "plot_activation-sigmoid-side-by-side.png").is_file()
    assert (feedback_dir / "plot_activation-sigmoid-diff.png").is_file()
    assert (feedback_dir / "plot_softmax-logits-0-side-by-side.png").is_file()


def test_a_passing_plot_attaches_no_pictures(grade_files):
    result = grade_plots(grade_files, GOOD_ACTIVATION + GOOD_SOFTMAX)
    assert scores(result) == MAX
    assert all(not c.attachments for e in result.exercises for c in e.checks)
