"""The README.md of a student bundle: what is in it, how to check your work, what is graded."""
from __future__ import annotations

from ..spec import Course
from .answers import questions
from .starters import NOTEBOOK
from .wheel import wheel_name


def student_readme(course: Course) -> str:
    modules = ", ".join(f"`{m}.py`" for m in course.modules)
    first = course.exercises[0].id if course.exercises else "sigmoid"
    asked = {e.id for e in questions(course)}
    commands = "\n".join(f"{command:<40}# {what}" for command, what in (
        ("pytest", "every check of every exercise: one test per exercise, check and device"),
        (f"pytest -k {first}", "one exercise (an exact exercise name selects only that exercise)"),
        ("pytest -x", "stop at the first failure"),
        ("pytest --torchgrade-html feedback.html", "also one page of the feedback, with its pictures"),
        (f"pytest --submission {NOTEBOOK}", "check the notebook instead of the modules"),
        ("torchgrade check", "the same checks, as a table of scores"),
        ("torchgrade check --html feedback.html", "the same, and the page of feedback with its pictures"),
        (f"torchgrade check {NOTEBOOK}", "the same, for the notebook")))
    rows = "\n".join(
        f"| `{e.id}` | `{e.module}.py` | `{'ANSWERS[' + repr(e.id) + ']' if e.id in asked else e.signature}` | "
        f"{sum(c.points for c in e.checks if not c.hidden):g} |" for e in course.exercises)
    wheel = wheel_name()
    return f"""# {course.name}

Your exercises, with everything you need to check your own work offline.

## Start here

In a terminal in this folder, with Python 3.10 or newer and PyTorch installed (your teacher says how;
a virtual environment is a good idea):

```bash
pip install {wheel}
pytest
```

The first command installs the grader that came with these exercises (and what it needs that is
missing; PyTorch already installed is kept). The second checks every exercise and shows, for each
failure, the input that failed and a hint. Change your code and run `pytest` again.

No PyTorch yet, and no NVIDIA GPU? Install its CPU-only build first, a fraction of the size of the
default one (which brings CUDA): `pip install torch --index-url https://download.pytorch.org/whl/cpu`

| file | what it is |
| --- | --- |
| `{wheel}` | the grader: the same checks your teacher runs, installed with `pip install` |
| {modules} | the modules you write: every function is a stub whose docstring is its exercise (questions: `ANSWERS`) |
| `{NOTEBOOK}` | the same functions as a notebook, if you prefer to work there (hand in one or the other) |
| `exercises/` | each exercise in YAML: statement, hints, and the checks you can run here |
| `expected/` | expected results for those checks, where they come from your teacher's own code |
| `course.yaml`, `pytest.ini` | what `pytest` and `torchgrade` read; leave them as they are |

## Check your work

From a terminal in this folder, once the grader is installed (above):

```bash
{commands}
```

Each test is named `exercise::check[device]`, e.g. `{first}::values[cpu]`. A failure shows what the
grader found: the input that failed, what was expected against what your function returned, the
greatest difference, and a hint. Your code runs in a separate process with a time and memory limit,
exactly as when your teacher grades it.

Tests on `[cuda]` run only on a machine with an NVIDIA GPU and are skipped elsewhere; the `device`
check proves your functions keep tensors on their input's device even without a GPU.

These are the public checks. Your teacher grades the same functions with more cases, so a
function that only just passes here may still lose points: write it for every input the statement
describes.

Questions (`ANSWERS`) are checked here for their form only: a letter among the options, a list of
letters where several are right, a number, or a short text. Whether an answer is right is decided
when your teacher grades; this folder holds no answers.

## Notebooks

A notebook is graded without being run. Its code cells are read in order, and of each only the
definitions are kept: imports, functions, classes, and constants (`EPS = 1e-12`). Code that trains,
prints or plots at the top level of a cell is left out, and so are `%magics` and `!shell` lines.
Inside a function everything counts. A cell that is not valid Python costs only the functions it
defines.

## Exercises

| exercise | module | function or answer | points checked here |
| --- | --- | --- | --- |
{rows}
"""
