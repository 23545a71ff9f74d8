"""Real student plotting code grades headless without edits, and one case never leaks into the next.

Each submission is written the way desktop tutorials teach it and graded through the real
sandbox; each is correct, so anything short of full marks is the grader's fault.
"""
from __future__ import annotations

from conftest import check_of, scores

#: plot_activation alone: its 4 cases are where each style differs (plot_softmax is graded in test_plots.py)
EXERCISES = ["plot_activation"]
MAX = {"plot_activation": 10.0}

#: a correct plot_softmax, for the one test that needs both exercises
SOFTMAX = '''
def plot_softmax(logits, path):
    import matplotlib.pyplot as plt
    import torch
    p = torch.softmax(logits, dim=-1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(5, 2))
    a.bar(range(len(p)), p)
    b.bar(range(len(p)), torch.softmax(p, dim=-1))
    fig.savefig(path, dpi=60)
    return fig
'''

NUMPY_CURVES = '''
import numpy as np

def curves(name, x):
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-x))
        return s, s * (1 - s)
    if name == "tanh":
        return np.tanh(x), 1 - np.tanh(x) ** 2
    slope = 0.0 if name == "relu" else 0.01
    return np.where(x > 0, x, slope * x), np.where(x > 0, 1.0, slope)
'''


def grade(grade_files, text: str):
    return grade_files({"plots.py": text}, exercises=EXERCISES)


def all_feedback(result) -> str:
    return "\n".join(c.feedback for e in result.exercises for c in e.checks)


def test_matplotlib_use_tkagg_at_import_is_ignored(grade_files):
    result = grade(grade_files, '''
import matplotlib
matplotlib.use("TkAgg")
import matplotlib.pyplot as plt
plt.switch_backend("TkAgg")
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    x = np.linspace(-10, 10, 500)
    y, dy = curves(name, x)
    fig, ax = plt.subplots(1, 2)
    ax[0].plot(x, y); ax[0].set_title(name); ax[0].grid()
    ax[1].plot(x, dy); ax[1].set_title("derivative"); ax[1].grid()
    fig.savefig(path, dpi=50)
    return fig
''')
    assert scores(result) == MAX


def test_pyplot_state_machine_with_plt_show_grades(grade_files):
    result = grade(grade_files, '''
import matplotlib.pyplot as plt
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    x = np.arange(-10, 10, 0.1)
    y, dy = curves(name, x)
    plt.figure(figsize=(8, 3))
    plt.subplot(1, 2, 1)
    plt.plot(x, y)
    plt.title(name)
    plt.grid(True)
    plt.subplot(1, 2, 2)
    plt.plot(x, dy)
    plt.title("d/dx " + name)
    plt.grid(True)
    plt.savefig(path, dpi=50)
    plt.show()
    return plt.gcf()
''')
    assert scores(result) == MAX


def test_missing_fonts_and_chinese_titles_grade_without_a_warning_flood(grade_files):
    # Both exercises (7 figures): unsilenced, the font log of 7 figures overflows the 64 kB output limit.
    result = grade_files({"plots.py": SOFTMAX + '''
import matplotlib.pyplot as plt
plt.rcParams["font.sans-serif"] = ["SimHei"]
plt.rcParams["axes.unicode_minus"] = False
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    x = np.linspace(-10, 10, 400)
    y, dy = curves(name, x)
    fig, (a, b) = plt.subplots(1, 2)
    a.plot(x, y); a.set_title(name + " 激活函数"); a.grid(True)
    b.plot(x, dy); b.set_title("导数"); b.grid(True)
    a.set_xlabel("输入 x")
    fig.savefig(path, dpi=50)
    return fig
'''}, exercises=["plot_activation", "plot_softmax"])
    assert scores(result) == {"plot_activation": 10.0, "plot_softmax": 6.0}
    assert not result.details.get("output_truncated")  # the class report would flag a flood
    text = all_feedback(result)
    assert "findfont" not in text and "Glyph" not in text
    assert "characters the grader's fonts cannot draw" in check_of(result, "plot_activation", "style").feedback


def test_a_font_file_that_does_not_exist_here_falls_back(grade_files):
    result = grade(grade_files, '''
import matplotlib.pyplot as plt
from matplotlib.font_manager import FontProperties
font = FontProperties(fname=r"C:\\Windows\\Fonts\\simhei.ttf", size=12)
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    x = np.linspace(-10, 10, 400)
    y, dy = curves(name, x)
    fig, (a, b) = plt.subplots(1, 2)
    a.plot(x, y); a.set_title("函数", fontproperties=font); a.grid(True)
    b.plot(x, dy); b.set_title("导数", fontproperties=font); b.grid(True)
    fig.savefig(path, dpi=50)
    return fig
''')
    assert scores(result) == MAX


def test_lines_from_torch_tensors_and_a_derivative_from_backward_grade(grade_files):
    result = grade(grade_files, '''
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

def plot_activation(name, path):
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu}[name]
    x = torch.linspace(-10, 10, 1000)
    x.requires_grad_()
    out = f(x)
    out.backward(torch.ones_like(out))
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3))
    with torch.no_grad():
        a.plot(x.detach(), out.detach(), label=name)
    b.plot(x.detach().numpy(), x.grad.numpy(), "r")
    for ax, title in ((a, name), (b, name + " gradient")):
        ax.set_title(title); ax.grid(True); ax.legend() if ax is a else None
    fig.savefig(path, dpi=50)
    return fig
''')
    assert scores(result) == MAX


def test_a_module_that_changes_directory_at_import_still_saves_where_asked(grade_files):
    result = grade(grade_files, '''
import os
os.chdir("/")
import matplotlib.pyplot as plt
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    x = np.linspace(-10, 10, 400)
    y, dy = curves(name, x)
    fig, (a, b) = plt.subplots(1, 2)
    a.plot(x, y); a.set_title(name); a.grid(True)
    b.plot(x, dy); b.set_title("derivative"); b.grid(True)
    fig.savefig(path, dpi=50)
    return fig
''')
    assert scores(result) == MAX


def test_each_case_starts_without_the_previous_cases_figure(grade_files):
    # plt.gcf() returns the figure still open from the previous call, if one leaked: then
    # fig.subplots would add two more axes to it and the layout (exactly 2 axes) would fail.
    result = grade(grade_files, '''
import matplotlib.pyplot as plt
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    x = np.linspace(-10, 10, 400)
    y, dy = curves(name, x)
    fig = plt.gcf()
    a, b = fig.subplots(1, 2)
    a.plot(x, y); a.set_title(name); a.grid(True)
    b.plot(x, dy); b.set_title("derivative"); b.grid(True)
    fig.savefig(path, dpi=50)
    return fig
''')
    assert scores(result) == MAX


def test_rc_params_set_in_one_case_do_not_leak_into_the_next(grade_files):
    # The grid comes from rcParams set only while drawing sigmoid (the first case): later
    # cases must not inherit it, so they (and only they) fail the style check.
    result = grade(grade_files, '''
import matplotlib.pyplot as plt
''' + NUMPY_CURVES + '''
def plot_activation(name, path):
    if name == "sigmoid":
        plt.rcParams["axes.grid"] = True
    x = np.linspace(-10, 10, 400)
    y, dy = curves(name, x)
    fig, (a, b) = plt.subplots(1, 2)
    a.plot(x, y); a.set_title(name)
    b.plot(x, dy); b.set_title("derivative")
    fig.savefig(path, dpi=50)
    return fig
''')
    feedback = check_of(result, "plot_activation", "style").feedback
    assert feedback.startswith("3 of 4 cases failed. First failing case: plot_activation('tanh', path)")


def test_an_exception_in_the_students_function_is_reported_with_its_line(grade_files):
    result = grade(grade_files, '''
import matplotlib.pyplot as plt

def plot_activation(name, path):
    fig, ax = plt.subplots(1, 2)
    ax[0].plot(range(10), undefined_name)
    return fig
''')
    feedback = check_of(result, "plot_activation", "figure").feedback
    assert "NameError" in feedback and "plots.py, line" in feedback
