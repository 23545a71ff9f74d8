"""A function that crashes, exits, hangs or kills itself costs only its own exercise."""
from __future__ import annotations

import pytest

from conftest import REPO, check_of, scores

GOOD_RELU = """
def relu(x):
    return x.clamp(min=0)
"""

EXERCISES = ["sigmoid", "relu", "tanh"]

GOOD_TANH = """
def tanh(x):
    return 2 * torch.sigmoid(2 * x) - 1 if False else _tanh(x)

def _tanh(x):
    e = torch.exp(-2 * x.abs())
    return torch.sign(x) * (1 - e) / (1 + e)
"""


@pytest.fixture(scope="module")
def honest(plans, server, tmp_path_factory):
    """Scores of a submission whose sigmoid is simply missing (the honest zero)."""
    from grader.run import grade_submission
    folder = tmp_path_factory.mktemp("honest")
    (folder / "activations.py").write_text("import torch\n" + GOOD_RELU + GOOD_TANH)
    scratch = tmp_path_factory.mktemp("scratch")
    return scores(grade_submission(plans(tuple(EXERCISES), True), folder, server, scratch))


ATTACKS = {
    "os._exit": ("import os", "os._exit(3)", "ended the process (exit code 3)"),
    "sys.exit": ("import sys", "sys.exit(4)", "raised SystemExit"),
    "KeyboardInterrupt": ("", "raise KeyboardInterrupt", "raised KeyboardInterrupt"),
    "SIGKILL to itself": ("import os, signal", "os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    "endless loop ignoring SIGTERM": ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)",
                                      "while True: pass", ("computed for more than", "ran for more than")),
    "sleeps forever": ("import time", "time.sleep(3600)", "for waiting (sleep, input(), a lock)"),
    "segfault": ("import ctypes", "ctypes.string_at(0)", "SIGSEGV"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_dying_function_costs_only_its_own_exercise(grade_files, honest, attack, monkeypatch):
    setup, body, words = ATTACKS[attack]
    # A step's limits as short as right work allows on a loaded machine, so a hang costs the test seconds
    # (the course's own: 5 CPU seconds, a 30 s backstop for code that sleeps; the same 1 : 6 or wider).
    import dataclasses
    from grader.run import Plan
    course_limits = Plan.limits
    monkeypatch.setattr(Plan, "limits", lambda self, threads=1, module=None: dataclasses.replace(
        course_limits(self, threads, module), step_s=8.0, step_cpu_s=1.0))
    result = grade_files({"activations.py": f"""
import torch
{setup}

def sigmoid(x):
    {body}
{GOOD_RELU}
{GOOD_TANH}
"""}, exercises=EXERCISES, name=attack.replace(" ", "_").replace(".", "_"))
    got = scores(result)
    assert got["sigmoid"] == 0
    assert got["relu"] == honest["relu"] > 0
    assert got["tanh"] == honest["tanh"] > 0
    feedback = check_of(result, "sigmoid", "values").feedback
    # a busy loop meets its CPU limit first, or its wall-clock limit first on a loaded machine: either is said
    assert any(w in feedback for w in ((words,) if isinstance(words, str) else words)), feedback


def test_a_syntax_error_costs_only_that_modules_exercises(grade_files):
    result = grade_files({
        "activations.py": "import torch\ndef sigmoid(x)\n    return x\n",
        "losses.py": """
            import torch
            def bce_loss(p, target):
                logs = target * torch.log(p).clamp_min(-100) + (1 - target) * torch.log(1 - p).clamp_min(-100)
                return -logs.mean()
        """,
    }, exercises=["sigmoid", "relu", "bce_loss"])
    got = scores(result)
    assert got["sigmoid"] == got["relu"] == 0
    assert got["bce_loss"] == next(e for e in result.exercises if e.id == "bce_loss").max_score
    feedback = check_of(result, "relu", "values").feedback
    assert "SyntaxError" in feedback and "activations.py" in feedback


def test_an_import_that_exits_costs_only_that_module(grade_files):
    result = grade_files({
        "activations.py": "import os\nos._exit(0)\n",
        "losses.py": "import torch\ndef bce_loss(p, target):\n    return torch.zeros((), dtype=p.dtype)\n",
    }, exercises=["sigmoid", "relu", "bce_loss"])
    assert "Importing activations.py ended the process" in check_of(result, "sigmoid", "values").feedback
    assert check_of(result, "bce_loss", "forbid").status == "passed"


def test_a_missing_module_or_function_is_not_submitted(grade_files):
    result = grade_files({"activations.py": "import torch\n" + GOOD_RELU}, exercises=["sigmoid", "relu", "bce_loss"])
    assert "Not submitted: activations.py defines no function sigmoid" in check_of(result, "sigmoid", "values").feedback
    assert "Not submitted: there is no losses.py" in check_of(result, "bce_loss", "values").feedback
    assert scores(result)["relu"] > 0


def test_a_raising_function_names_the_line(grade_files):
    result = grade_files({"activations.py": "import torch\n\ndef sigmoid(x):\n    return 1 / undefined_name\n"},
                         exercises=["sigmoid"])
    feedback = check_of(result, "sigmoid", "values").feedback
    assert "NameError" in feedback and "activations.py, line 4, in sigmoid" in feedback
    assert check_of(result, "sigmoid", "values").status == "error"


def test_a_stop_names_the_case_it_happened_in(grade_files):
    """The child notes each call before it runs it: a function that ends the process on 3-D input only is
    told which check and case ended it, not just that it did."""
    source = (REPO / "solutions" / "activations.py").read_text().replace(
        "def relu(x):\n", "def relu(x):\n    if x.dim() == 3:\n        import os\n        os._exit(3)\n", 1)
    result = grade_files({"activations.py": source}, exercises=["relu", "sigmoid"])
    feedback = check_of(result, "relu", "values").feedback
    assert "ended the process (exit code 3)" in feedback
    assert "It was stopped in the values check, on the case x: float32 (2, 3, 4)" in feedback, feedback
    sigmoid = next(e for e in result.exercises if e.id == "sigmoid")
    assert sigmoid.score == sigmoid.max_score > 0



def test_a_stop_in_a_second_run_of_a_call_names_that_run(grade_files):
    """The grader runs some calls again (a strided case on contiguous copies, an experiment with a seed
    changed): a stop there names that run, not the first."""
    relu = (REPO / "solutions" / "activations.py").read_text().replace(
        "def relu(x):\n", "def relu(x):\n    if x.dim() == 3 and x.numel() and x.is_contiguous():\n"
                          "        import os\n        os._exit(3)\n", 1)
    norms = (REPO / "solutions" / "experiments.py").read_text().replace(
        "    torch.manual_seed(seed)\n", "    if seed == 1:\n        import os\n        os._exit(3)\n"
                                       "    torch.manual_seed(seed)\n", 1)
    result = grade_files({"activations.py": relu, "experiments.py": norms}, exercises=["relu", "gradient_norms"])
    words = check_of(result, "relu", "values").feedback
    assert "(2, 3, 4) (non-contiguous" in words and "second run of it, on contiguous copies" in words, words
    words = check_of(result, "gradient_norms", "seeded").feedback
    assert "in the call with seed=1 instead" in words, words


def test_a_forged_or_foreign_note_of_the_running_case_is_not_believed(tmp_path):
    from types import SimpleNamespace

    from grader.entry import RUNNING_FILE, RUNNING_WIDTH
    from grader.execute import running_case
    case = SimpleNamespace(label="x: float32 (7,) on cpu")
    plan = SimpleNamespace(prepared={"relu": [SimpleNamespace(check=SimpleNamespace(label="values"), cases=[case],
                                                              calls=[{"key": "values/random-0"}])]})
    note = tmp_path / RUNNING_FILE
    for text, said in [("relu\tvalues/random-0", True), ("sigmoid\tvalues/random-0", False),
                       ("relu\tvalues/random-9", False), ("relu\tvalues/random-0" + " " * RUNNING_WIDTH, False)]:
        note.write_text(text.ljust(RUNNING_WIDTH) if len(text) <= RUNNING_WIDTH else text)
        assert (running_case(plan, "relu", tmp_path) != "") is said, text
    note.unlink()
    assert running_case(plan, "relu", tmp_path) == ""


@pytest.mark.parametrize("reason,words", [
    ("timeout", "ran for more than 30 s and was stopped"),
    ("step_cpu", "computed for more than 10 s (CPU time) and was stopped"),
    ("cpu", "more CPU time than the limit allows"),
    ("processes", "started more processes than the limit allows (64)"),
    ("exit", "ended the process (exit code 3)"),
    ("crash", "this is not your fault"),
])
def test_every_way_a_child_stops_is_told_in_a_students_words(reason, words):
    from grader.execute import describe_stop
    from grader.sandbox import Limits, Outcome
    outcome = Outcome(3 if reason == "exit" else None, None, (), "sigmoid", reason, "", "", False, 1.0)
    assert words in describe_stop(outcome, Limits(step_s=30, step_cpu_s=10, processes=64), "sigmoid")


def test_an_exercise_stopped_by_its_modules_budget_is_told_so_not_that_it_passed_its_own_limit(grade_files,
                                                                                                 monkeypatch):
    from grader.plan import Plan
    from grader.sandbox import Limits
    monkeypatch.setattr(Plan, "limits", lambda self, threads=1, module=None: Limits(step_s=30, step_cpu_s=5,
                                                                                    total_s=3.0))
    result = grade_files({"activations.py": "import time\n\ndef sigmoid(x):\n    time.sleep(60)\n"},
                         exercises=["sigmoid"], name="budget")
    feedback = check_of(result, "sigmoid", "values").feedback
    assert "activations.py used up the module's time (3 s)" in feedback and "30 s" not in feedback


def test_one_wall_clock_budget_covers_every_child_of_a_module(grade_files, monkeypatch):
    """A module that sleeps in every exercise holds its worker for the module's budget, not for a fresh
    budget per child that a stopped exercise makes necessary."""
    from grader.plan import Plan
    from grader.sandbox import Limits
    monkeypatch.setattr(Plan, "limits", lambda self, threads=1, module=None: Limits(step_s=1.5, step_cpu_s=5,
                                                                                    total_s=4.0))
    result = grade_files({"activations.py": """
import time, torch

def sigmoid(x):
    time.sleep(60)

def tanh(x):
    time.sleep(60)

def relu(x):
    time.sleep(60)
"""}, exercises=EXERCISES, name="sleeper")
    feedback = {e.id: check_of(result, e.id, "values").feedback for e in result.exercises}
    assert sum("activations.py used up the module's time (4 s)" in text for text in feedback.values()) >= 1, feedback


def test_a_module_that_sleeps_away_its_time_costs_no_other_modules_exercise(grade_files, monkeypatch):
    from grader.plan import Plan
    from grader.sandbox import Limits
    monkeypatch.setattr(Plan, "limits", lambda self, threads=1, module=None: Limits(step_s=30, step_cpu_s=5,
                                                                                    total_s=3.0))
    losses = (REPO / "solutions" / "losses.py").read_text()
    result = grade_files({"activations.py": "import time\n\ndef sigmoid(x):\n    time.sleep(60)\n",
                          "losses.py": losses}, exercises=["sigmoid", "bce_loss"], name="sleeps-in-activations")
    assert "activations.py used up the module's time (3 s)" in check_of(result, "sigmoid", "values").feedback
    bce = next(e for e in result.exercises if e.id == "bce_loss")
    assert bce.score == bce.max_score > 0


def test_results_larger_than_a_file_may_hold_are_told_so_and_cost_only_their_cases(grade_files, honest):
    """relu returns 8 MB for every input: together past the 64 MB an exercise's record may take, so the
    largest cases are refused, each saying so, and tanh beside it is graded as usual."""
    result = grade_files({"activations.py": "import torch\n" + GOOD_TANH + """
def relu(x):
    return torch.zeros(2_000_000)
"""}, exercises=EXERCISES, name="too-big-to-save")
    feedback = check_of(result, "relu", "values").feedback
    assert "returned for this input (7.6 MB)" in feedback and "more than the 64 MB the grader takes back" in feedback
    assert "ended the process" not in feedback and "could not read the results" not in feedback
    assert "Your function returned, but the grader cannot read back" in feedback and "raised TypeError" not in feedback
    device = check_of(result, "relu", "device").feedback  # nothing went wrong with the device
    assert "the device is what went wrong" not in device, device
    assert scores(result)["tanh"] == honest["tanh"] > 0

def test_right_work_that_asks_torch_for_four_threads_keeps_full_marks(grade_files):
    """Graded code runs on one thread; a learner's torch.set_num_threads(4) made OpenMP try to start three
    more at the first large input, which ended the child ("sys.exit in your code?"). OpenMP is held to one."""
    activations = (REPO / "solutions" / "activations.py").read_text().replace(
        "import torch\n", "import torch\ntorch.set_num_threads(4)\n", 1)
    assert "set_num_threads(4)" in activations
    result = grade_files({"activations.py": activations}, exercises=["neuron", "sigmoid", "sigmoid_grad", "softmax"],
                         name="four-threads")
    assert all(e.score == e.max_score > 0 for e in result.exercises), scores(result)
