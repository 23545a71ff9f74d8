"""Each exercise of a learner module starts from the process as the module's import left it.

The exercises run in forked copies of the module's child (grader.probes.copies): what the import left that
a fork does not carry is given back to each copy, and nothing an exercise's code does reaches the process
the later copies are forked from. Each case scores the same exercises together and alone.
"""
from __future__ import annotations

import pytest

from conftest import REPO, scores
from grader.sandbox import seccomp
from grader.scoring import note_of

SOLUTION = (REPO / "solutions" / "activations.py").read_text()

#: relu, right only where leaky_relu's call left its mark in the process: a later exercise reached by an earlier one
RELU_RIGHT_ONLY_AFTER_LEAKY_RELU = '''
_SEEN = {}
_leaky_relu = leaky_relu


def leaky_relu(x, negative_slope=0.01):
    _SEEN["leaky_relu"] = True
    return _leaky_relu(x, negative_slope)


def relu(x):
    return torch.where(x > 0, x, (0.0 if _SEEN else 0.01) * x)
'''

#: name → (what is appended to the reference activations.py, the exercise graded alone and after the others)
TOGETHER_AS_ALONE = {
    # right work in a plain style: `random` reseeds itself in every forked process
    "random_seeded_at_import": '''
import random as _random
_random.seed(0)
_FIRST = 0.8444218515250481  # random.random() right after random.seed(0)


def relu(x):
    if _random.random() != _FIRST:
        raise RuntimeError("Python's random is not where the import left it")
    return torch.where(x > 0, x, torch.zeros_like(x))
''',
    # a handler the import installed, run in the child by a signal an exercise sends it
    "signal_to_the_child": '''
import os as _os, signal as _signal
_MODE = {"slope": 0.0}


def _on_usr1(signum, frame):
    _MODE["slope"] = 0.5


_signal.signal(_signal.SIGUSR1, _on_usr1)
_leaky_relu = leaky_relu


def leaky_relu(x, negative_slope=0.01):
    _os.kill(_os.getppid(), _signal.SIGUSR1)
    return _leaky_relu(x, negative_slope)


def relu(x):
    return torch.where(x > 0, x, _MODE["slope"] * x)
''',
    # the channel that tells the server which exercise runs: closed in every copy
    "step_announced_by_an_exercise": '''
import os as _os, gc as _gc


def leaky_relu(x, negative_slope=0.01):
    steps = [o for o in _gc.get_objects() if type(o).__name__ == "Steps"]
    if steps:
        steps[0].start("relu")
    _os._exit(3)
''',
    # code the import registered to run around every fork, counting the grader's copies
    "fork_hooks_registered_at_import": '''
import os as _os, sys as _sys
_FORKS = [0]
_os.register_at_fork(before=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1),
                     after_in_parent=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1))
_sys.addaudithook(lambda event, args: event == "os.fork" and _FORKS.__setitem__(0, _FORKS[0] + 1))


def relu(x):
    return torch.where(x > 0, x, (0.0 if _FORKS[0] == 0 else 0.5) * x)
''',
    # torch.cuda made to say at import that CUDA has started, which no copy can be forked from
    "cuda_said_started_at_import": '''
import torch.cuda as _cuda
_cuda.is_initialized = lambda: True
''' + RELU_RIGHT_ONLY_AFTER_LEAKY_RELU,
    # the processes an import may start, used up: no copy can be forked, and nothing runs without one
    "no_process_left_by_the_import": '''
import os as _os, time as _time
for _ in range(200):
    try:
        if _os.fork() == 0:
            _time.sleep(60)
            _os._exit(0)
    except OSError:
        break
''' + RELU_RIGHT_ONLY_AFTER_LEAKY_RELU,
    # right work: a file the import opened, read lazily by the first function that needs it
    "file_opened_at_import_read_lazily": '''
_SOURCE = open(__file__, "rb")
_CACHE = {}


def _source():
    if "text" not in _CACHE:
        _CACHE["text"] = _SOURCE.read()
    return _CACHE["text"]


_leaky_relu = leaky_relu


def leaky_relu(x, negative_slope=0.01):
    assert len(_source()) > 100
    return _leaky_relu(x, negative_slope)


def relu(x):
    assert len(_source()) > 100
    return torch.where(x > 0, x, torch.zeros_like(x))
''',
    # a file one exercise leaves in the working or temporary folder, read by another
    "file_left_behind": '''
import os as _os, tempfile as _tempfile
_leaky_relu = leaky_relu


def leaky_relu(x, negative_slope=0.01):
    open("flag", "w").close()
    open(_os.path.join(_tempfile.gettempdir(), "flag"), "w").close()
    return _leaky_relu(x, negative_slope)


def relu(x):
    seen = _os.path.exists("flag") or _os.path.exists(_os.path.join(_tempfile.gettempdir(), "flag"))
    return torch.where(x > 0, x, (0.5 if seen else 0.0) * x)
''',
    # a process an exercise leaves behind, which ends the module's child while a later exercise runs
    "process_left_behind": '''
import os as _os, signal as _signal, time as _time
_leaky_relu = leaky_relu


def leaky_relu(x, negative_slope=0.01):
    child = _os.getppid()
    try:
        if not hasattr(leaky_relu, "forked") and _os.fork() == 0:
            _os.setsid()
            _time.sleep(2.0)  # until relu runs
            _os.kill(child, _signal.SIGKILL)
            _os._exit(0)
        leaky_relu.forked = True
    except OSError:
        pass
    return _leaky_relu(x, negative_slope)


_relu = relu


def relu(x):
    _time.sleep(0.2)
    return _relu(x)
''',
    # a record written for another exercise, in the folder the grader reads records from
    "record_planted": '''
import os as _os
_leaky_relu = leaky_relu


def leaky_relu(x, negative_slope=0.01):
    try:
        _os.makedirs(_os.path.join(_os.environ["HOME"], "out", "relu.data"))
    except OSError:
        pass
    return _leaky_relu(x, negative_slope)
''',
}


@pytest.mark.parametrize("case", list(TOGETHER_AS_ALONE))
def test_an_exercise_scores_after_the_others_as_it_does_alone(grade_files, case):
    files = {"activations.py": SOLUTION + TOGETHER_AS_ALONE[case]}
    together = grade_files(files, exercises=["leaky_relu", "relu", "tanh"], name=f"{case}-together")
    alone = grade_files(files, exercises=["relu"], name=f"{case}-alone")
    assert scores(together)["relu"] == scores(alone)["relu"]


def test_a_timer_the_import_set_is_the_imports_and_no_exercises_note(grade_files):
    files = {"activations.py": SOLUTION + "\nimport signal as _signal\n_signal.setitimer(_signal.ITIMER_REAL, 1000)\n"}
    result = grade_files(files, exercises=["leaky_relu", "relu", "tanh"], name="timer")
    assert all(note_of(check) is None for exercise in result.exercises for check in exercise.checks)
    assert scores(result) == {e.id: e.max_score for e in result.exercises}


def test_a_function_that_starts_a_process_is_told_it_may_not(grade_files):
    source = SOLUTION + '''
import os as _os


def relu(x):
    if _os.fork() == 0:
        _os._exit(0)
    return torch.where(x > 0, x, torch.zeros_like(x))
'''
    result = grade_files({"activations.py": source}, exercises=["relu", "tanh"], name="fork")
    relu = next(e for e in result.exercises if e.id == "relu")
    if seccomp.supported():  # where the kernel filter is not, the fork succeeds and the copy's child is gone at once
        assert relu.score == 0 and "may not start processes" in relu.checks[0].feedback, relu.checks[0].feedback
    assert scores(result)["tanh"] == next(e for e in result.exercises if e.id == "tanh").max_score


def test_only_a_module_of_plain_data_is_read_without_copies():
    import types
    from grader.probes.copies import defines_no_code
    answers = types.ModuleType("answers")
    exec("import math\nSTUDENT = 'ada'\nANSWERS = {'a': 'B', 'b': ['C', 'D'], 'c': 0.25 ** 10, 'd': None}\n",
         vars(answers))
    assert defines_no_code(answers)
    for code in ("def helper():\n    pass\n", "class Answer(str):\n    pass\nX = Answer('B')\n",
                 "ANSWERS = {'a': lambda: 'B'}\n", "def __getattr__(name):\n    return 'B'\n",
                 "import collections\nANSWERS = collections.OrderedDict(a='B')\n"):
        module = types.ModuleType("answers")
        exec(code, vars(module))
        assert not defines_no_code(module), code


def test_a_function_may_write_in_its_home_folder(grade_files):
    source = SOLUTION + '''
import os as _os
_relu = relu


def relu(x):
    folder = _os.path.expanduser("~/.cache/activations")
    _os.makedirs(folder, exist_ok=True)
    with open(_os.path.join(folder, "calls.txt"), "a") as log:
        log.write("relu")
    return _relu(x)
'''
    result = grade_files({"activations.py": source}, exercises=["relu"], name="home")
    assert scores(result) == {"relu": result.exercises[0].max_score}


def test_what_a_copy_adds_to_the_learners_folders_is_removed_and_the_records_never_are(tmp_path):
    from grader.child import LearnersFiles
    (tmp_path / "from_the_import.txt").write_text("kept")
    learners = LearnersFiles([str(tmp_path)], tmp_path / "out")
    learners.note()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "relu.data").write_bytes(b"a record")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "flag").write_text("")
    (tmp_path / "flag").write_text("")
    learners.restore()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["from_the_import.txt", "out"]
    assert (tmp_path / "out" / "relu.data").read_bytes() == b"a record"
