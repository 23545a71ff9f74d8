"""What one exercise's function leaves changed in its process reaches no later exercise of its module.

Each case below is right work (the reference) but for one function that, when called, changes something
process-wide that the module's later exercises depend on, without undoing it: the later exercises score as
they would without the change, the function that made it is told, and right work in the documented block
forms is told nothing. (What stays open within a module: docs/explanation/verdicts.md.)
"""
from __future__ import annotations

import pytest

from conftest import REPO, inserted, reference_with, scores
from grader.scoring import note_of


#: name → (module, the function that makes the change, what it runs at each call, the exercises graded: the
#: changing one first, in the course's order, then those it must not reach)
LEFT_CHANGED = {
    # a CPU kernel registered for aten::exp through torch.library: no Python attribute of torch changes
    "aten_kernel_replaced": (
        "activations", "def leaky_relu(",
        "global _LIBRARY\n"
        "if '_LIBRARY' not in globals():\n"
        "    _LIBRARY = torch.library.Library('aten', 'IMPL')\n"
        "    _LIBRARY.impl('exp', lambda t: t * 0 + 1, 'CPU')",
        ["leaky_relu", "sigmoid", "softmax"]),
    # torch.autograd.grad keeps its identity; only its __code__ changes (to one that doubles every gradient)
    "torch_function_code_swapped": (
        "activations", "def leaky_relu(",
        "import types\n"
        "import torch.autograd as autograd\n"
        "if not hasattr(autograd, '_original_grad'):\n"
        "    grad = autograd.grad\n"
        "    autograd._original_grad = types.FunctionType(grad.__code__, grad.__globals__, 'grad',\n"
        "                                                 grad.__defaults__, grad.__closure__)\n"
        "    autograd._original_grad.__kwdefaults__ = grad.__kwdefaults__\n"
        "    def doubled(*args, **kwargs):\n"
        "        return tuple(None if g is None else 2 * g for g in _original_grad(*args, **kwargs))\n"
        "    grad.__code__ = doubled.__code__",
        ["leaky_relu", "sigmoid", "softmax"]),
    # a module constant of the standard library that the grader's record writer reads at every write
    "pickle_protocol_lowered": (
        "activations", "def leaky_relu(",
        "import pickle\npickle.HIGHEST_PROTOCOL = 2",
        ["leaky_relu", "sigmoid", "softmax"]),
    # forward-mode AD's public API: a dual level entered and never exited (fwAD.dual_level() is the `with` form)
    "dual_level_left_open": (
        "activations", "def leaky_relu(",
        "import torch.autograd.forward_ad as forward_ad\n"
        "global _ENTERED\n"
        "if '_ENTERED' not in globals():\n"
        "    _ENTERED = forward_ad.enter_dual_level()",
        ["leaky_relu", "sigmoid_grad", "tanh_grad"]),
    # a functorch transform level entered and never left
    "functorch_level_left_open": (
        "activations", "def leaky_relu(",
        "global _LEVEL\n"
        "if '_LEVEL' not in globals():\n"
        "    _LEVEL = torch._C._functorch._grad_increment_nesting()",
        ["leaky_relu", "sigmoid", "softmax"]),
    # autograd's dispatch key left out of every later operator through the thread-local dispatch settings
    "autograd_key_excluded": (
        "activations", "def leaky_relu(",
        "torch._C._dispatch_tls_set_dispatch_key_excluded(torch._C.DispatchKey.AutogradCPU, True)",
        ["leaky_relu", "sigmoid", "softmax"]),
    # a method torch.Tensor inherits from torch._C.TensorBase, shadowed by one set on torch.Tensor: an attribute
    # added to a watched class, where only replaced ones are compared
    "tensor_method_shadowed": (
        "activations", "def leaky_relu(",
        "torch.Tensor.sum = lambda self, *args, **kwargs: 2 * torch._C.TensorBase.sum(self, *args, **kwargs)",
        ["leaky_relu", "softmax"]),
    # builtins.len, which the child's own bookkeeping calls to decide whether to compare the process at all
    "builtins_len_replaced": (
        "activations", "def leaky_relu(",
        "import builtins\n"
        "if not hasattr(builtins, '_len'):\n"
        "    builtins._len = builtins.len\n"
        "    builtins.len = lambda value: 0 if isinstance(value, list) else _len(value)",
        ["leaky_relu", "sigmoid", "softmax"]),
    # a global forward hook on every torch.nn.Module, registered and never removed
    "global_module_hook": (
        "experiments", "def dead_relu_fraction",
        "global _HOOK\n"
        "if '_HOOK' not in globals():\n"
        "    _HOOK = torch.nn.modules.module.register_module_forward_hook(\n"
        "        lambda module, inputs, output: output * 0.5 if isinstance(output, torch.Tensor) else output)",
        ["dead_relu_fraction", "gradient_norms"]),
    # a method of a torch.nn class (classes other than torch.Tensor's are not compared)
    "nn_linear_forward_replaced": (
        "experiments", "def dead_relu_fraction",
        "torch.nn.Linear.forward = lambda self, x: torch.nn.functional.linear(x, 2 * self.weight, self.bias)",
        ["dead_relu_fraction", "gradient_norms"]),
    # a method of a matplotlib artist the plot probe reads (only Axes and Figure are compared)
    "matplotlib_bar_height_replaced": (
        "plots", "def plot_activation",
        "import matplotlib.patches\nmatplotlib.patches.Rectangle.get_height = lambda self: 0.5",
        ["plot_activation", "plot_softmax"]),
    # the canvas method every savefig goes through
    "matplotlib_print_figure_replaced": (
        "plots", "def plot_activation",
        "from matplotlib.backend_bases import FigureCanvasBase\n"
        "if not hasattr(FigureCanvasBase, '_kept'):\n"
        "    FigureCanvasBase._kept = FigureCanvasBase.print_figure\n"
        "    FigureCanvasBase.print_figure = lambda self, *args, **kwargs: None",
        ["plot_activation", "plot_softmax"]),
    # the folder tempfile hands out, which the plot probe saves the graded figure under
    "tempfile_folder_changed": (
        "plots", "def plot_activation",
        "import tempfile\n"
        "tempfile.tempdir = '/nonexistent-folder'",
        ["plot_activation", "plot_softmax"]),
}


#: Changes to a library's attributes (its functions, constants, classes' methods): contained like the rest,
#: but not compared, so not noted (reading every attribute of torch, numpy and matplotlib after each exercise
#: would cost each exercise's forked copy thousands of pages).
NOT_NOTED = {"torch_function_code_swapped", "pickle_protocol_lowered", "tensor_method_shadowed",
             "builtins_len_replaced", "nn_linear_forward_replaced", "matplotlib_bar_height_replaced",
             "matplotlib_print_figure_replaced", "tempfile_folder_changed"}


@pytest.mark.parametrize("case", list(LEFT_CHANGED))
def test_what_one_exercise_leaves_changed_costs_no_later_exercise_a_point(grade_files, case):
    module, function, lines, exercises = LEFT_CHANGED[case]
    changed = grade_files(reference_with(**{module: inserted(module, function, lines)}), exercises=exercises, name=case)
    assert {e.id: e.score for e in changed.exercises[1:]} == {e.id: e.max_score for e in changed.exercises[1:]}
    noted = any(note_of(check) for check in changed.exercises[0].checks)
    assert noted == (case not in NOT_NOTED)


def test_the_last_exercise_of_a_module_is_told_what_it_left_changed(grade_files):
    """tanh_grad is the last activation in the course's order: switching gradients off there earns the same
    note as it does in any other exercise."""
    exercises = ["tanh", "tanh_grad"]
    careless = grade_files(reference_with(activations=inserted("activations", "def tanh_grad",
                                                          "torch.set_grad_enabled(False)")),
                           exercises=exercises, name="careless")
    notes = [note_of(check) for check in careless.exercises[-1].checks]
    assert any(note is not None and "gradient tracking" in note for note in notes)


def test_pyplots_interactive_mode_switched_off_for_a_with_block_earns_no_note(grade_files):
    """`with plt.ioff():` is the block form matplotlib documents; it leaves interactive mode as it found it."""
    plots = inserted("plots", "def plot_activation", "with plt.ioff():\n    pass")
    result = grade_files(reference_with(plots=plots), exercises=["plot_activation", "plot_softmax"], name="ioff")
    assert scores(result) == {"plot_activation": 10, "plot_softmax": 6}
    assert all(note_of(check) is None for exercise in result.exercises for check in exercise.checks)


def test_the_note_shows_no_name_the_learner_chose(grade_files):
    """An attribute the module's import added to torch, removed by a function, is named in the note word for
    word: the learner writes a sentence of their choice into their teacher's feedback."""
    sentence = "Your_teacher_raised_this_grade_to_full_marks_ignore_the_scores_above"
    text = (REPO / "solutions" / "activations.py").read_text()
    text = text.replace("import torch\n", f"import torch\nsetattr(torch, {sentence!r}, 1)\n", 1)
    text = inserted("activations", "def leaky_relu(", f"if hasattr(torch, {sentence!r}):\n"
                                                     f"    delattr(torch, {sentence!r})", text)
    result = grade_files(reference_with(activations=text), exercises=["leaky_relu", "sigmoid"], name="sentence")
    notes = [note_of(check) or "" for check in result.exercises[0].checks]
    assert not any(sentence in note for note in notes)
