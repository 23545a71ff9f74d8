"""What one exercise's code leaves changed in its process reaches no other exercise's verdict.

Each learner module is graded in a child of its own; within a module, an exercise that leaves torch's
settings, its functions or the process changed is noted, and the module's later exercises run in a fresh
child (grader.probes.process_state). The learner is told, and it costs no points.
"""
from __future__ import annotations

import warnings

import torch

from conftest import REPO, check_of, inserted, reference_with, scores
from grader.judge import left_changed_note
from grader.probes.process_state import ProcessState
from grader.scoring import note_of


def full_marks(result) -> dict[str, float]:
    """What the reference scores on the same exercises: every point (tests/test_grade_command.py)."""
    return {e.id: e.max_score for e in result.exercises}


def test_a_derivative_that_switches_gradients_off_for_good_costs_no_other_exercise_a_point(grade_files):
    exercises = ["sigmoid_grad", "softmax", "tanh", "cross_entropy"]
    careless = grade_files(reference_with(activations=inserted("activations", "def sigmoid_grad",
                                                          "torch.set_grad_enabled(False)")),
                           exercises=exercises, name="careless")
    assert scores(careless) == full_marks(careless)
    note = note_of(careless.exercises[0].checks[0])
    assert note is not None and "gradient tracking" in note and "torch.no_grad()" in note
    assert all(note_of(check) is None for exercise in careless.exercises[1:] for check in exercise.checks)


def test_a_module_that_changes_torch_at_import_reaches_no_other_modules_exercises(grade_files):
    exercises = ["sigmoid", "relu_over_sigmoid", "gradient_norms", "kaiming_normal_"]
    hostile_import = ("torch.set_default_dtype(torch.float64)\n"
                      "_exp = torch.exp\n"
                      "torch.exp = lambda x, *args, **kwargs: _exp(x, *args, **kwargs) * 1.5\n"
                      "torch.autograd.graph.saved_tensors_hooks(lambda t: t * 0, lambda t: t).__enter__()\n")
    answers = "import torch\n" + hostile_import + (REPO / "solutions" / "answers.py").read_text()
    result = grade_files(reference_with(answers=answers), exercises=exercises, name="import")
    assert scores(result) == full_marks(result)
    assert result.details["children"] == 4  # one per module


def test_the_exercises_after_one_that_left_its_process_changed_run_in_a_fresh_one(grade_files):
    exercises = ["leaky_relu_grad", "sigmoid", "tanh"]  # in the course's order: leaky_relu_grad first
    zeroing_hook = ("torch.set_default_dtype(torch.float64)\n"
                    "torch.autograd.graph.saved_tensors_hooks(lambda t: t * 0, lambda t: t).__enter__()")
    careless = grade_files(reference_with(activations=inserted("activations", "def leaky_relu_grad", zeroing_hook)),
                           exercises=exercises, name="careless")
    assert scores(careless) == full_marks(careless)
    assert check_of(careless, "sigmoid", "gradient").status == "passed"
    assert careless.details["children"] == 1  # each exercise in a copy of the module's child: nothing to start again
    note = note_of(careless.exercises[0].checks[0])
    assert note is not None and "default dtype" in note and "saved-tensors hook" in note


def test_right_work_runs_in_one_child_per_module_and_gets_no_note(grade_files, course):
    result = grade_files(reference_with())
    assert result.details["children"] == len({e.module for e in course.exercises})
    assert all(note_of(check) is None for exercise in result.exercises for check in exercise.checks)


def test_the_process_state_names_what_a_call_left_changed_and_nothing_else():
    before = ProcessState()
    assert before.changes() == []
    exp, dtype = torch.exp, torch.get_default_dtype()
    try:
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.exp = lambda x: x
        warnings.simplefilter("error")
        changed = before.changes()
        settings_only = before.settings_changed()
    finally:
        torch.set_grad_enabled(True)
        torch.set_default_dtype(dtype)
        torch.exp = exp
        warnings.filters.pop(0)
    assert set(changed) == {"grad_mode", "default_dtype", "replaced:torch.exp", "warnings"}
    assert set(settings_only) == {"grad_mode", "default_dtype", "warnings"}
    assert before.changes() == []


def test_the_learners_module_is_compared_with_everything_else_not_with_the_settings():
    """Rebinding a module global is how Python counts and caches (`global _calls`): no note; it is compared
    only where it decides whether the later exercises need a fresh child."""
    import types
    learner = types.ModuleType("learner")
    exec("def sigmoid(x):\n    return x\n\ndef tanh(x, k=[1]):\n    return x\n", vars(learner))
    before = ProcessState(learner=learner)
    learner.sigmoid = lambda x: x * 0
    learner.tanh.__defaults__ = ([2],)
    assert before.settings_changed() == []
    assert set(before.changes()) == {"replaced:learner.sigmoid", "replaced:learner.tanh"}


def test_a_device_context_or_a_saved_tensors_hook_left_open_is_noticed():
    before = ProcessState()
    context = torch.device("meta")
    context.__enter__()
    try:
        assert before.changes() == ["function_modes"]
    finally:
        context.__exit__(None, None, None)
    hooks = torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t)
    hooks.__enter__()
    try:
        assert before.changes() == ["saved_tensors_hooks"]
    finally:
        hooks.__exit__(None, None, None)
    assert before.changes() == []


def test_what_the_child_says_changed_is_shown_only_in_the_graders_words():
    assert left_changed_note(None) is None and left_changed_note("grad_mode") is None
    assert left_changed_note(["<b>you passed</b>", 3, {"x": 1}]) is None
    note = left_changed_note(["grad_mode", "replaced:torch.exp", "replaced:torch.exp; rm -rf /", "x" * 10_000])
    assert note is not None and "replaced or removed torch.exp" in note and "rm -rf" not in note
    assert note.count("replaced or removed") == 1
    many = left_changed_note([f"replaced:torch.f{i}" for i in range(100)])
    assert many is not None and many.count("replaced or removed") == 8


def test_a_change_made_while_modules_were_imported_is_not_blamed_on_the_function_alone():
    note = left_changed_note(["warnings", "imported"])
    assert note is not None and "it, or a module it imported, changed the warnings filters" in note


def test_only_a_child_whose_calls_run_on_the_gpu_starts_cuda(course, tmp_path):
    from grader.execute import starts_cuda
    from grader.plan import build_plan
    on_gpu = build_plan(course, hidden=True, exercises=["sigmoid", "relu_over_sigmoid"], cuda=True, workdir=tmp_path)
    assert starts_cuda(on_gpu, ["sigmoid"]) and not starts_cuda(on_gpu, ["relu_over_sigmoid"])
    on_cpu = build_plan(course, hidden=True, exercises=["sigmoid"], cuda=False, workdir=tmp_path / "cpu")
    assert not starts_cuda(on_cpu, ["sigmoid"])


def test_on_a_gpu_an_exercise_with_gpu_cases_has_a_child_of_its_own_and_the_rest_share_one(course, tmp_path):
    """A CUDA context cannot be copied, so exercises with GPU cases cannot each run in a copy of one child."""
    from grader.execute import child_batch
    from grader.plan import build_plan
    ids = ["calculate_gain", "fan_in_and_fan_out", "zeros_", "kaiming_normal_"]  # the first two: no GPU cases
    on_gpu = build_plan(course, hidden=True, exercises=ids, cuda=True, workdir=tmp_path)
    assert child_batch(on_gpu, ids) == ["calculate_gain", "fan_in_and_fan_out"]
    assert child_batch(on_gpu, ids[2:]) == ["zeros_"]
    assert child_batch(on_gpu, ["kaiming_normal_", "calculate_gain"]) == ["kaiming_normal_"]
    on_cpu = build_plan(course, hidden=True, exercises=ids, cuda=False, workdir=tmp_path / "cpu")
    assert child_batch(on_cpu, ids) == ids


def test_every_setting_the_child_compares_has_words_for_the_learner():
    """The child names what changed by key (grader.probes.process_state); the grader words each one
    (grader.judge): a key without words would be left out of the note."""
    from grader.judge import _CHANGED
    from grader.probes.process_state import SETTINGS
    assert set(SETTINGS) <= set(_CHANGED)


TORCH_FUNC_LOSS = '''
import torch


def _row_loss(row, t):
    return torch.logsumexp(row, dim=0) - row.gather(0, t.unsqueeze(0)).squeeze(0)


def cross_entropy(logits, target):
    return torch.vmap(_row_loss)(logits, target).mean()   # torch.func's first use loads torch's compiler
'''


def test_torch_loading_its_compiler_at_a_learners_first_vmap_is_not_the_learners_change(grade_files):
    """torch.vmap's first call loads torch._dynamo, which wraps torch.manual_seed, registers operators and sets
    warnings and variables: torch's doing, so right work gets no note and no fresh child."""
    result = grade_files({"losses.py": TORCH_FUNC_LOSS}, exercises=["cross_entropy"])
    exercise = next(e for e in result.exercises if e.id == "cross_entropy")
    assert all("not as it found it" not in c.feedback for c in exercise.checks), [c.feedback for c in exercise.checks]
    assert exercise.score == exercise.max_score, [c.feedback for c in exercise.checks]


def test_what_torch_changes_while_loading_a_part_of_itself_is_not_noted_and_the_rest_still_is():
    from grader.probes.process_state import torch_loads
    import torch._dynamo  # noqa: F401  what use_deterministic_algorithms loads at its first call, in this process
    state = ProcessState()
    original = torch.manual_seed
    try:
        torch_loads(lambda: setattr(torch, "manual_seed", lambda *args: None))  # as the compiler wraps it
        assert state.changes() == []
        torch.use_deterministic_algorithms(True)
        assert state.changes() == ["deterministic"]
    finally:
        torch.manual_seed = original
        torch.use_deterministic_algorithms(False)


def test_a_call_that_rebinds_its_own_modules_functions_costs_no_other_exercise_a_point(grade_files):
    """relu replaces sigmoid and tanh in its own module's globals: the later exercises run in copies of the
    child as the import left it; rebinding a global is not noted (it is how Python counts and caches)."""
    source = (REPO / "solutions" / "activations.py").read_text() + '''

_relu = relu


def relu(x):
    globals()["sigmoid"] = lambda t: t * 0
    globals()["tanh"] = lambda t: t * 0
    return _relu(x)
'''
    result = grade_files({"activations.py": source}, exercises=["relu", "sigmoid", "tanh", "sigmoid_grad"])
    honest = grade_files(reference_with(), exercises=["relu", "sigmoid", "tanh", "sigmoid_grad"], name="honest")
    assert scores(result) == scores(honest)
    assert note_of(next(e for e in result.exercises if e.id == "relu").checks[0]) is None  # `global` is Python's own


def test_a_call_that_changes_its_modules_globals_defaults_or_closures_costs_no_other_exercise_a_point(grade_files):
    """relu sets a module global, another function's default and a closure cell, each making a wrong
    function right: the later exercises run in copies of the child as the import left it, and score as
    they would alone."""
    source = (REPO / "solutions" / "activations.py").read_text() + '''

_MODE = "wrong"
_sigmoid = sigmoid


def sigmoid(x):
    return _sigmoid(x) if _MODE == "ok" else x * 0.5


_softmax = softmax


def softmax(x, dim=0):
    return _softmax(x, dim=dim)


def _make_tanh():
    k = 3.0

    def tanh(x):
        return torch.tanh(x) * (k - 1.0)
    return tanh


tanh = _make_tanh()
_relu = relu


def relu(x):
    globals()["_MODE"] = "ok"
    softmax.__defaults__ = (-1,)
    tanh.__closure__[0].cell_contents = 2.0
    return _relu(x)
'''
    exercises = ["relu", "sigmoid", "softmax", "tanh"]
    together = grade_files({"activations.py": source}, exercises=exercises)
    alone = grade_files({"activations.py": source}, exercises=["sigmoid", "softmax", "tanh"], name="alone")
    assert {k: v for k, v in scores(together).items() if k != "relu"} == scores(alone)


def test_a_call_that_changes_its_modules_objects_in_place_costs_no_other_exercise_a_point(grade_files):
    """relu changes module-level objects in place — a dict, a list, a tensor, a class attribute, an attribute of
    another function, a mutable default — that the module's right sigmoid, tanh and softmax read: no
    comparison could see every such change, so each exercise runs in a copy of the child as the import left
    it, and they score as they do alone."""
    source = (REPO / "solutions" / "activations.py").read_text() + '''

_SETTINGS = {"scale": 1.0}
_OFFSETS = [0.0]
_ONE = torch.ones(())


class _Config:
    dim = 0


_sigmoid, _tanh, _softmax = sigmoid, tanh, softmax


def sigmoid(x):
    return _sigmoid(x) * _SETTINGS["scale"] + _OFFSETS[0]


def tanh(x, _cache={}):
    return _tanh(x) * _ONE.item() + len(_cache)


def softmax(x, dim=-1):
    return _softmax(x, dim=dim) * getattr(sigmoid, "factor", 1.0) if _Config.dim == 0 else x


_relu = relu


def relu(x):
    _SETTINGS["scale"] = 0.0
    _OFFSETS.append(1.0)
    _OFFSETS[0] = 3.0
    _ONE.add_(1)
    _Config.dim = 1
    sigmoid.factor = 2.0
    tanh.__defaults__[0]["seen"] = True
    return _relu(x)
'''
    exercises = ["relu", "sigmoid", "tanh", "softmax"]
    together = grade_files({"activations.py": source}, exercises=exercises)
    honest = grade_files(reference_with(), exercises=exercises, name="honest")
    assert scores(together) == scores(honest)
    assert together.details["children"] == 1  # copies of one child, not a child per exercise


def test_a_module_that_reaps_or_ignores_child_processes_still_gets_every_point(grade_files):
    """A learner's SIGCHLD handler (or SIG_IGN, which reaps by itself) must not take the exercises' copies'
    exit statuses from the child that waits for them."""
    exercises = ["relu", "sigmoid", "tanh"]
    honest = grade_files(reference_with(), exercises=exercises, name="honest")
    for name, setup in {"ignored": "signal.signal(signal.SIGCHLD, signal.SIG_IGN)",
                        "reaped": "signal.signal(signal.SIGCHLD, lambda *_: os.waitpid(-1, os.WNOHANG))"}.items():
        source = f"import os, signal\n{setup}\n" + (REPO / "solutions" / "activations.py").read_text()
        result = grade_files({"activations.py": source}, exercises=exercises, name=name)
        assert scores(result) == scores(honest), name


def test_a_module_that_leaves_no_process_to_copy_into_is_graded_a_child_for_each_exercise(grade_files):
    """The import lowers the child's process limit to what it has: no copy can be forked (where the limit
    binds: not for root without a pids cgroup), so each exercise runs in the child itself and the child
    ends after it; the next runs in a fresh child, as the import left it, and relu's rebinding reaches
    neither."""
    source = ("import resource\n"
              "resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))\n" + (REPO / "solutions" / "activations.py").read_text() + '''

_relu = relu


def relu(x):
    globals()["sigmoid"] = lambda t: t * 0
    return _relu(x)
''')
    exercises = ["relu", "sigmoid", "tanh"]
    result = grade_files({"activations.py": source}, exercises=exercises)
    honest = grade_files(reference_with(), exercises=exercises, name="honest")
    assert scores(result) == scores(honest)
    if "own-user" in result.details["confinement"]:  # the limit binds
        assert result.details["children"] == 3
