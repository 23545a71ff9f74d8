"""A notebook submission: its definitions become the course's modules, nothing at its top level runs."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import check_of, scores
from grader.intake import Submission, SubmissionError, stage_submission
from grader.notebook import NotebookError, notebook_modules
from grader.run import grade_submission

SIGMOID = """\
def sigmoid(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
"""


def write_notebook(path: Path, cells: list, nbgrader: dict[int, dict] | None = None) -> Path:
    """cells: code strings, or ("markdown", text)."""
    out = []
    for index, cell in enumerate(cells):
        kind, text = cell if isinstance(cell, tuple) else ("code", cell)
        entry = {"cell_type": kind, "id": f"c{index}", "metadata": {}, "source": textwrap.dedent(text)}
        if kind == "code":
            entry.update(execution_count=None, outputs=[])
        if nbgrader and index in nbgrader:
            entry["metadata"] = {"nbgrader": nbgrader[index]}
        out.append(entry)
    path.write_text(json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def namespace(source: str) -> dict:
    names: dict = {}
    exec(compile(source, "activations.py", "exec"), names)
    return names


def test_definitions_and_imports_are_kept_and_top_level_work_is_dropped(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", [
        ("markdown", "# My work"),
        "import torch\nimport math\nEPS = 1e-12\nLOG2 = math.log(2)\nANSWERS = {'q1': 'b'}\n",
        SIGMOID + "print(sigmoid(torch.zeros(2)))\nraise RuntimeError('a top-level statement ran')\n",
        "for epoch in range(10**12):\n    pass\nmodel = train(sigmoid)\nweights = model.weight\n",
        "if __name__ == '__main__':\n    raise RuntimeError('main ran')\n",
    ])
    source = notebook_modules(nb, ["activations"])["activations"]
    names = namespace(source)
    assert names["EPS"] == 1e-12 and names["LOG2"] == pytest.approx(0.6931, abs=1e-4)
    assert names["ANSWERS"] == {"q1": "b"}
    assert callable(names["sigmoid"])
    assert "model" not in names and "weights" not in names
    assert "range(10**12)" not in source and "print(" not in source


def test_ipython_magics_shell_lines_and_plt_show_are_handled(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", [
        "%matplotlib inline\n!pip install torch\nfiles = !ls\nimport torch\nimport matplotlib.pyplot as plt\ntorch.sigmoid?\n"
        "plt.rcParams['axes.grid'] = True\n",
        "%%time\n" + SIGMOID,
        "%%bash\necho this is not python\n",
        "def plot(x):\n    plt.plot(x)\n    plt.show()\n    return x\nplot([1, 2])\nplt.show()\n",
    ])
    names = namespace(notebook_modules(nb, ["activations"])["activations"])
    assert callable(names["sigmoid"]) and callable(names["plot"])
    assert "files" not in names
    assert "plt.rcParams['axes.grid'] = True" in notebook_modules(nb, ["activations"])["activations"]  # a setting


def test_a_cell_with_a_syntax_error_costs_only_the_functions_it_defines(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", [
        "import torch\n",
        "def relu(x):\n    return torch.where(x > 0, x,\n",
        SIGMOID,
    ])
    names = namespace(notebook_modules(nb, ["activations"])["activations"])
    assert callable(names["sigmoid"])
    with pytest.raises(SyntaxError, match=r"cell 2, line \d"):
        names["relu"](1)


def test_every_module_gets_the_notebook_as_one_namespace(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", ["import torch\n", SIGMOID,
                                                 "def bce_loss(p, t):\n    return sigmoid(p).mean()\n"])
    modules = notebook_modules(nb, ["activations", "losses"])
    assert set(modules) == {"activations", "losses"}
    assert callable(namespace(modules["losses"])["bce_loss"])


def test_nbgrader_test_cells_are_not_taken_as_the_students_code(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", ["import torch\n", SIGMOID, "def sigmoid(x):\n    return x\n"],
                        nbgrader={1: {"solution": True, "grade": False, "grade_id": "s"},
                                  2: {"solution": False, "grade": True, "grade_id": "t", "points": 1}})
    import torch
    names = namespace(notebook_modules(nb, ["activations"])["activations"])
    assert float(names["sigmoid"](torch.tensor(0.0))) == 0.5  # the test cell's sigmoid would give 0


def test_an_unreadable_notebook_is_reported_in_the_students_words(tmp_path):
    bad = tmp_path / "work.ipynb"
    bad.write_text("{not json")
    with pytest.raises(NotebookError, match="cannot be read as a Jupyter notebook"):
        notebook_modules(bad, ["activations"])
    staged = stage_submission(Submission.from_path(bad, modules=["activations"]), tmp_path / "staged")
    assert "raise ImportError" in (staged / "activations.py").read_text()


def test_only_folders_modules_and_notebooks_are_submissions(tmp_path):
    other = tmp_path / "work.txt"
    other.write_text("x")
    with pytest.raises(SubmissionError, match="a .ipynb notebook"):
        Submission.from_path(other)


def test_a_notebook_scores_as_the_same_functions_in_a_module(plans, server, tmp_path, grade_files, course):
    nb = write_notebook(tmp_path / "alice.ipynb", [
        "import torch\n",
        SIGMOID,
        "while True:\n    pass\n",  # would hang the import if it ran
    ])
    plan = plans(("sigmoid",), True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    from_notebook = grade_submission(plan, Submission.from_path(nb, modules=course.modules), server, scratch)
    from_module = grade_files({"activations.py": "import torch\n\n" + SIGMOID}, exercises=["sigmoid"])
    assert scores(from_notebook) == scores(from_module)
    assert check_of(from_notebook, "sigmoid", "values").status == "passed"


def test_a_folder_holding_only_a_notebook_is_graded_from_it(tmp_path, course):
    folder = tmp_path / "carol"
    folder.mkdir()
    write_notebook(folder / "homework.ipynb", ["import torch\n", SIGMOID])
    staged = stage_submission(Submission.from_path(folder, modules=course.modules), tmp_path / "staged")
    assert "def sigmoid" in (staged / "activations.py").read_text()
