"""Feedback on a notebook speaks the notebook's terms: an error names the cell as Jupyter shows it
(`cell In [7]`, or `code cell 4` where it never ran; markdown cells are not counted) and the line
within that cell — never the extracted module the student never saw."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import check_of
from grader.intake import Submission
from grader.notebook import notebook_modules, notebook_place
from grader.run import grade_submission


def write_notebook(path: Path, cells: list) -> Path:
    """cells: code strings, (code, execution count), or ("markdown", text)."""
    out = []
    for index, cell in enumerate(cells):
        if isinstance(cell, tuple) and cell[0] == "markdown":
            out.append({"cell_type": "markdown", "id": f"c{index}", "metadata": {}, "source": cell[1]})
            continue
        text, count = cell if isinstance(cell, tuple) else (cell, None)
        out.append({"cell_type": "code", "id": f"c{index}", "metadata": {}, "source": textwrap.dedent(text),
                    "execution_count": count, "outputs": []})
    path.write_text(json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def module_file(tmp_path: Path, notebook: Path) -> Path:
    path = tmp_path / "activations.py"
    path.write_text(notebook_modules(notebook, ["activations"])["activations"])
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


BROKEN_SIGMOID = """\
import math

def sigmoid(x):
    y = x * 2
    return undefined_name + y
"""


def test_a_line_of_the_extracted_module_maps_to_its_cell_and_line(tmp_path):
    nb = write_notebook(tmp_path / "hw.ipynb", [("markdown", "# Title"), ("import torch\n", 3),
                                                 ("print('training')\n" + BROKEN_SIGMOID, 7)])
    module = module_file(tmp_path, nb)
    assert notebook_place(str(module), line_of(module, "undefined_name")) == "hw.ipynb, cell In [7], line 6"
    assert notebook_place(str(module), line_of(module, "import torch")) == "hw.ipynb, cell In [3], line 1"


def test_a_cell_that_never_ran_is_named_by_its_place_among_code_cells(tmp_path):
    nb = write_notebook(tmp_path / "hw.ipynb", [("markdown", "intro"), "import torch\n", ("markdown", "more"),
                                                 "x = torch.zeros(3)\nprint(x)\n" + BROKEN_SIGMOID])
    module = module_file(tmp_path, nb)
    assert notebook_place(str(module), line_of(module, "undefined_name")) == "hw.ipynb, code cell 2, line 7"


def test_a_cell_magic_keeps_the_lines_of_its_cell(tmp_path):
    nb = write_notebook(tmp_path / "hw.ipynb", ["%%time\nimport torch\n\ndef sigmoid(x):\n    return oops\n"])
    module = module_file(tmp_path, nb)
    assert notebook_place(str(module), line_of(module, "return oops")) == "hw.ipynb, code cell 1, line 5"


def test_a_plain_module_is_not_taken_for_a_notebook(tmp_path):
    module = tmp_path / "activations.py"
    module.write_text("# notebook cell: cell In [1] of fake.ipynb\ndef f():\n    return 1\n")
    assert notebook_place(str(module), 3) is None


def test_statements_sharing_a_line_keep_what_is_kept_on_that_line(tmp_path):
    nb = write_notebook(tmp_path / "hw.ipynb", ["import torch; print('hi'); EPS = 1e-12\ndef f():\n    return EPS\n"])
    source = notebook_modules(nb, ["activations"])["activations"]
    names: dict = {}
    exec(compile(source, "activations.py", "exec"), names)
    assert names["f"]() == 1e-12 and "print" not in source
    module = module_file(tmp_path, nb)
    assert notebook_place(str(module), line_of(module, "return EPS")) == "hw.ipynb, code cell 1, line 3"


def test_a_syntax_error_names_the_code_cell_not_counting_markdown(tmp_path):
    nb = write_notebook(tmp_path / "hw.ipynb", [("markdown", "a"), ("markdown", "b"), "import torch\n",
                                                 ("markdown", "c"), "def relu(x):\n    return torch.where(x > 0, x,\n"])
    names: dict = {}
    exec(compile(notebook_modules(nb, ["activations"])["activations"], "activations.py", "exec"), names)
    with pytest.raises(SyntaxError, match=r"the notebook's code cell 2, line 2 is not valid Python"):
        names["relu"](1)


def test_a_runtime_error_in_a_graded_notebook_names_the_cell_and_its_line(plans, server, tmp_path, course):
    nb = write_notebook(tmp_path / "carol.ipynb", [("markdown", "# Homework"), ("import torch\n", 1),
                                                    ("# my sigmoid\n\ndef sigmoid(x):\n    e = torch.exp(-x)\n"
                                                     "    return 1 / (1 + e) + missing\n", 4),
                                                    ("markdown", "## ReLU"), ("def relu(x):\n    return x.clamp(min=0\n", 6)])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = grade_submission(plans(("sigmoid", "relu"), False), Submission.from_path(nb, modules=course.modules),
                              server, scratch)
    feedback = check_of(result, "sigmoid", "values").feedback
    assert "NameError" in feedback
    assert "carol.ipynb, cell In [4], line 5, in sigmoid" in feedback
    assert "activations.py" not in feedback
    broken = check_of(result, "relu", "values").feedback
    assert "SyntaxError: the notebook's cell In [6], line 2 is not valid Python" in broken
    assert "at carol.ipynb, cell In [6], in relu\n" in broken + "\n"  # not the grader's own raise line
    assert "activations.py" not in broken


def test_a_kernels_history_keeps_each_cells_execution_count(tmp_path):
    """Stock nbgrader's path grades the kernel's history: an error names `In [n]` as the student saw it."""
    from grader.integrations.nbgrader.session import kernel_notebook
    history = ["", "import torch", "# torchgrade test: sigmoid. …\ngrade_in_kernel('sigmoid')", "x = 1\n" + BROKEN_SIGMOID]
    nb = tmp_path / "kernel.ipynb"
    nb.write_text(json.dumps(kernel_notebook(history)))
    module = module_file(tmp_path, nb)
    assert notebook_place(str(module), line_of(module, "undefined_name")) == "kernel.ipynb, cell In [3], line 6"


def test_a_name_left_out_is_explained_in_the_cells_terms_where_a_graded_function_meets_it(tmp_path):
    import importlib.util

    from grader.encode import encode_error
    nb = write_notebook(tmp_path / "hw.ipynb", [("import torch\n", 1),
                                                 ("for i in range(3):\n    _scale = i + 1\n", 2),
                                                 ("def scaled(x):\n    return x * _scale\n", 3),
                                                 ("weights = torch.load(open('w.pt', 'rb'))\n"
                                                  "def predict(x):\n    return x @ weights\n", 4)])
    staged = tmp_path / "staged"
    staged.mkdir()
    path = module_file(staged, nb)
    spec = importlib.util.spec_from_file_location("activations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    messages = []
    for function in (module.scaled, module.predict):
        with pytest.raises(NameError) as caught:
            function(1)
        messages.append(encode_error(caught.value, str(staged))["message"])
    assert messages == [
        "name '_scale' is not defined: cell In [2], line 1: `for i in range(3): …` is not run when grading "
        "(top-level loops are not run; compute it in a function)",
        "name 'weights' is not defined: cell In [4], line 1: `weights = torch.load(open('w.pt', 'rb'))` is not "
        "run when grading (it calls `open`, which grading does not run)"]
    assert "for i in range(3)" not in path.read_text().split("# torchgrade not run")[0]


def test_a_needed_statement_that_raises_costs_only_the_names_it_binds(tmp_path):
    import importlib.util

    from grader.encode import encode_error
    nb = write_notebook(tmp_path / "hw.ipynb", [
        ("import torch\n", 1),
        ("class BCE:\n    def __init__(self):\n        raise ValueError('no weights file')\n_bce = BCE()\n"
         "def bce_loss(p, target):\n    return _bce(p, target)\n", 2),
        ("def _make_grad(f):\n    raise RuntimeError('not yet')\ntanh_grad = _make_grad(torch.tanh)\n", 3),
        ("relu = (lambda k: lambda x: x / k)(0)\n", 4),
        ("def sigmoid(x):\n    return 1 / (1 + torch.exp(-x))\n", 5)])
    staged = tmp_path / "staged"
    staged.mkdir()
    path = staged / "activations.py"
    needed = ["bce_loss", "tanh_grad", "relu", "sigmoid"]
    path.write_text(notebook_modules(nb, ["activations"], needed)["activations"])
    spec = importlib.util.spec_from_file_location("activations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the import itself does not fail
    assert float(module.sigmoid(torch_zero())) == 0.5
    errors = []
    for function, args in ((module.bce_loss, (1, 1)), (module.tanh_grad, (1,)), (module.relu, (1,))):
        with pytest.raises(Exception) as caught:
            function(*args)
        errors.append(encode_error(caught.value, str(staged)))
    assert errors[0]["message"] == ("name '_bce' is not defined: cell In [2], line 4: `_bce = BCE()` raised "
                                    "ValueError: no weights file when grading")
    assert errors[1]["message"] == ("tanh_grad is not defined: cell In [3], line 3: `tanh_grad = "
                                    "_make_grad(torch.tanh)` raised RuntimeError: not yet when grading")
    assert errors[1]["where"] == "hw.ipynb, cell In [3], in tanh_grad"
    assert (errors[2]["type"], errors[2]["where"], errors[2]["line"]) == (
        "ZeroDivisionError", "hw.ipynb, cell In [4], line 1, in <lambda>", "relu = (lambda k: lambda x: x / k)(0)")


def torch_zero():
    import torch
    return torch.tensor(0.0)
