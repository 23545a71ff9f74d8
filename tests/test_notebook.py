"""A notebook submission: its definitions become the course's modules, nothing at its top level runs."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import check_of, scores
from grader.intake import Submission, SubmissionError, stage_submission
from grader.notebook import NotebookError, notebook_modules, notebook_source
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


# A top-level statement that calls the notebook's own code runs where something graded needs what it binds.

BCE_CELL = """\
class BCE(torch.nn.Module):
    def forward(self, p, t):
        log_p = torch.clamp(torch.log(p), min=-100)
        log_1mp = torch.clamp(torch.log(1 - p), min=-100)
        return -(t * log_p + (1 - t) * log_1mp).mean()
_bce = BCE()
def bce_loss(p, target):
    return _bce(p, target)
"""
TANH_CELLS = [
    "def tanh(x):\n    m = torch.expm1(torch.where(x >= 0, -2 * x, 2 * x))\n"
    "    return torch.where(x >= 0, -m / (2 + m), m / (2 + m))\n",
    "def _make_grad(f):\n    def g(x):\n        t = f(x)\n        return 1 - t * t\n    return g\n"
    "tanh_grad = _make_grad(tanh)\n",
]
ANSWER_CELLS = ["ANSWERS = {q: None for q in ('binary_loss', 'dead_relu', 'regression_output')}\n",
                "ANSWERS['binary_loss'] = 'BCELoss'\n", "ANSWERS |= {'dead_relu': 'C'}\n",
                "ANSWERS.update({q: 'D' for q in ['regression_output']})\n"]


def test_an_object_built_by_notebook_code_runs_where_a_kept_function_uses_it(tmp_path):
    import torch
    nb = write_notebook(tmp_path / "work.ipynb", ["import torch\n", BCE_CELL])
    names = namespace(notebook_source(nb, ["bce_loss"]))
    assert isinstance(names["_bce"], torch.nn.Module)
    p, t = torch.tensor([0.25, 0.75]), torch.tensor([0.0, 1.0])
    assert float(names["bce_loss"](p, t)) == pytest.approx(float(torch.nn.functional.binary_cross_entropy(p, t)))
    assert "_bce" in namespace(notebook_source(nb))  # without the course's names: every kept function is graded


def test_a_function_built_by_notebook_code_runs_where_the_course_asks_for_it(tmp_path):
    import torch
    nb = write_notebook(tmp_path / "work.ipynb", ["import torch\n"] + TANH_CELLS)
    names = namespace(notebook_source(nb, ["tanh_grad"]))
    assert float(names["tanh_grad"](torch.tensor(0.0))) == 1.0
    assert "tanh_grad" not in namespace(notebook_source(nb, ["tanh"]))  # nothing asks for it: not run


def test_answers_built_by_a_comprehension_and_filled_in_later_cells_are_as_the_notebook_holds_them(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", ANSWER_CELLS)
    assert namespace(notebook_source(nb, []))["ANSWERS"] == {"binary_loss": "BCELoss", "dead_relu": "C",
                                                              "regression_output": "D"}


def test_training_plots_and_figures_nothing_graded_needs_are_not_run(tmp_path):
    ran = tmp_path / "ran.txt"
    nb = write_notebook(tmp_path / "work.ipynb", [
        "import torch\nimport time\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n",
        f"def train(net, epochs):\n    open({str(ran)!r}, 'w').write('trained')\n    time.sleep(60)\n    return net\n"
        "def make_figure():\n    return plt.figure()\n",
        "net = torch.nn.Linear(2, 1)\nmodel = train(net, epochs=100)\nfig = make_figure()\nplt.plot([1, 2])\n",
        f"with open({str(ran)!r}, 'w') as f:\n    f.write('a with block ran')\n"
        "losses = [train(net, 1) for _ in range(3)]\n",
        "def evaluate(model, x):\n    return model(x)\n",  # `model` here is the argument, not the trained one
        SIGMOID,
    ])
    source = notebook_source(nb, ["sigmoid", "evaluate"])
    for dropped in ("model = train(net, epochs=100)", "fig = make_figure()", "plt.plot", "with open", "losses ="):
        assert dropped not in source
    names = namespace(source)
    assert callable(names["sigmoid"]) and "model" not in names and not ran.exists()


def test_definitions_in_other_styles_behave_as_the_notebook_run_top_to_bottom(tmp_path):
    import torch
    nb = write_notebook(tmp_path / "work.ipynb", [
        "import functools\nimport torch\n",
        "relu = lambda x: x.clamp(min=0)\n",
        "def _softmax(x, dim):\n    return torch.exp(x) / torch.exp(x).sum(dim=dim, keepdim=True)\n"
        "softmax = functools.partial(_softmax, dim=-1)\n",
        SIGMOID + "sigmoid_grad = torch.func.grad(sigmoid)\n",
        "def twice(f):\n    def g(x):\n        return 2 * f(x)\n    return g\n"
        "def make_decorator(k):\n    return lambda f: (lambda x: k * f(x))\n"
        "triple = make_decorator(3)\n@twice\ndef doubled(x):\n    return x\n@triple\ndef tripled(x):\n    return x\n",
        "def make_pair():\n    return (lambda x: x + 1), (lambda x: x - 1)\nleaky_relu, tanh = make_pair()\n",
        "class Neuron:\n    def __call__(self, x, w, b):\n        return sigmoid(x @ w + b)\nneuron = Neuron()\n",
        "ANSWERS = dict(dead_relu='C')\n",
    ])
    names = namespace(notebook_source(nb, ["relu", "softmax", "sigmoid_grad", "doubled", "tripled", "leaky_relu",
                                           "tanh", "neuron"]))
    x = torch.tensor([-1.0, 2.0])
    assert names["relu"](x).tolist() == [0.0, 2.0]
    assert names["softmax"](x).sum().item() == pytest.approx(1.0)
    assert float(names["sigmoid_grad"](torch.tensor(1.0))) == pytest.approx(0.19661193)
    assert names["doubled"](1) == 2 and names["tripled"](1) == 3
    assert names["leaky_relu"](1) == 2 and names["tanh"](1) == 0
    assert float(names["neuron"](torch.zeros(2), torch.zeros(2), torch.tensor(0.0))) == 0.5
    assert names["ANSWERS"] == {"dead_relu": "C"}


def test_a_needed_assignment_that_cannot_run_leaves_a_function_that_says_which_line_and_why(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", [
        "import torch\n",
        "tanh_grad = _make_grad(torch.tanh)\n",  # run before the cell that defines _make_grad
        TANH_CELLS[1].replace("tanh_grad = _make_grad(tanh)\n", ""),
        "STUDENT = input('your name: ')\n",
    ])
    source = notebook_source(nb, ["tanh_grad"])
    names = namespace(source)
    with pytest.raises(NameError, match=r"code cell 2, line 1: `tanh_grad = _make_grad\(torch.tanh\)` is not run "
                                        r"when grading \(it uses `_make_grad`, which no cell above it defines"):
        names["tanh_grad"](1)
    assert "STUDENT" not in names and "input(" not in source.split("# torchgrade not run")[0]


def test_a_notebook_whose_definitions_are_built_by_its_own_code_gets_full_marks(plans, server, tmp_path, course):
    nb = write_notebook(tmp_path / "dana.ipynb", ["import torch\n", BCE_CELL] + TANH_CELLS + ANSWER_CELLS)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    plan = plans(("bce_loss", "tanh_grad", "binary_loss", "dead_relu"), True)
    result = grade_submission(plan, Submission.from_path(nb, modules=course.modules), server, scratch)
    assert {e.id: e.score for e in result.exercises} == {e.id: e.max_score for e in result.exercises}, \
        [c.feedback for e in result.exercises for c in e.checks if c.status != "passed"]


def test_an_augmented_assignment_adds_to_what_the_notebook_defined_but_never_to_a_builtin(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", ["ANSWERS = {'a': 'B'}\nANSWERS |= {'b': 'C'}\nsum += 1\n"])
    source = notebook_source(nb, [])
    assert namespace(source)["ANSWERS"] == {"a": "B", "b": "C"} and "sum +=" not in source


def test_a_needed_top_level_await_is_not_run_and_the_module_still_imports(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", ["async def f():\n    return 1\nrelu = await f()\n", SIGMOID])
    names = namespace(notebook_source(nb, ["relu", "sigmoid"]))  # compiles: the await is left out
    with pytest.raises(NameError, match=r"`relu = await f\(\)` is not run when grading \(it is not valid Python"):
        names["relu"](1)


def test_a_function_defined_only_under_main_says_that_block_is_not_run(tmp_path):
    nb = write_notebook(tmp_path / "work.ipynb", ["if __name__ == '__main__':\n    def relu(x):\n        return x\n"])
    with pytest.raises(NameError, match=r"code cell 1, line 1: `if __name__ == '__main__': …` is not run when "
                                        r"grading \(an `if __name__ == \"__main__\":` block is not run when grading\)"):
        namespace(notebook_source(nb, ["relu"]))["relu"](1)
