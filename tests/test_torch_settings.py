"""torch's process-wide settings are kept per learner module (grader/probes/torch_settings.py): what one
module's code switches (gradients off, the default dtype, matplotlib's rcParams), at import or in a call,
reaches no other module's exercises, while each exercise runs as its own module's import left things."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import torch

from grader.probes.torch_settings import TorchSettings

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def test_every_setting_comes_back():
    before = TorchSettings.now()
    try:
        torch.set_default_dtype(torch.float64)
        torch.set_default_device("meta")
        torch.set_grad_enabled(False)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_anomaly_enabled(True, False)
        matplotlib.rcParams["lines.linewidth"] = 7.0
        assert TorchSettings.now() != before
        before.restore()
        assert TorchSettings.now() == before
        assert torch.zeros(1).device.type == "cpu" and torch.zeros(1).dtype == torch.float32
    finally:
        torch.set_default_dtype(before.default_dtype)
        torch.set_default_device(None)
        torch.set_grad_enabled(before.grad_enabled)
        torch.use_deterministic_algorithms(before.deterministic, warn_only=before.deterministic_warn_only)
        torch.set_anomaly_enabled(before.anomaly, before.anomaly_check_nan)
        matplotlib.rcParams.update(before.rc_params or {})


def _solutions_with(module: str, old: str, new: str) -> dict[str, str]:
    files = {p.name: p.read_text() for p in SOLUTIONS.glob("*.py")}
    assert old in files[module]
    files[module] = files[module].replace(old, new, 1)
    return files


def _lost(result) -> dict[str, set[str]]:
    return {e.id: {c.name for c in e.checks if c.status != "passed"} for e in result.exercises if e.score < e.max_score}


def test_a_call_that_switches_gradients_off_costs_no_other_exercise(grade_files):
    files = _solutions_with("activations.py", "    s = sigmoid(x)\n    return s * (1 - s)",
                            "    torch.set_grad_enabled(False)  # a derivative by hand: no graph needed\n"
                            "    s = sigmoid(x)\n    return s * (1 - s)")
    result = grade_files(files, exercises=["sigmoid_grad", "tanh", "softmax", "bce_loss"], hidden=False)
    assert _lost(result) == {}


def test_a_module_that_switches_gradients_off_at_import_costs_its_own_exercises_only(grade_files):
    files = _solutions_with("activations.py", "import torch\n", "import torch\ntorch.set_grad_enabled(False)\n")
    result = grade_files(files, exercises=["sigmoid", "bce_loss"], hidden=False)
    assert "gradient" in _lost(result).get("sigmoid", set())  # its own module's doing, as when run on its own
    assert "bce_loss" not in _lost(result)


def test_a_module_imported_first_by_another_brings_its_settings_with_it(grade_files):
    """activations.py imports losses.py, which switches gradients off when imported: both modules' exercises run
    with gradients off, as `import activations` or `import losses` would leave them on the student's machine."""
    files = _solutions_with("losses.py", "import torch\n", "import torch\ntorch.set_grad_enabled(False)\n")
    files["activations.py"] = files["activations.py"].replace("import torch\n", "import torch\nimport losses\n", 1)
    result = grade_files(files, exercises=["sigmoid", "bce_loss"], hidden=False)
    lost = _lost(result)
    assert "gradient" in lost.get("sigmoid", set()) and "gradient" in lost.get("bce_loss", set())


def test_what_a_later_module_patches_in_torch_reaches_no_exercise_graded_before_it(grade_files):
    """The child grades the modules in the course's order: a plots.py that replaces torch.exp when it is imported
    (no setting can undo that) costs sigmoid, softmax and cross_entropy nothing, as they run before it."""
    files = dict(_solutions_with("plots.py", "import torch\n",
                                 "import torch\ntorch.exp = lambda x, *a, **k: x.new_tensor(2.0).pow(x)\n"))
    result = grade_files(files, exercises=["sigmoid", "softmax", "cross_entropy", "plot_softmax"], hidden=False)
    assert set(_lost(result)) <= {"plot_softmax"}
