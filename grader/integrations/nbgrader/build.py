"""course.yaml → an nbgrader course directory: nbgrader_config.py and one source notebook per module.

Each course module becomes one assignment, `source/<module>/<module>.ipynb`. Per exercise: a
read-only statement cell, a solution cell (the def line and docstring from
`solutions/<module>.py`, its body between the solution markers) and a locked autograder test
cell worth the exercise's points, which grades the kernel's code with torchgrade (hidden checks
only between the hidden-test markers). The directory is the teacher's: it holds the solutions;
`nbgrader generate_assignment` strips them from what students get.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ...spec import Course, Exercise
from . import cells
from .solution_source import FunctionSource, ModuleSource, SolutionSourceError, read_module_source

#: Environment variable through which test cells find course.yaml (set by nbgrader_config.py).
from .kernel import COURSE_ENV


class BuildError(Exception):
    """The course directory cannot be written; the message is for a teacher."""


@dataclass(frozen=True)
class Assignment:
    name: str
    module: str
    exercises: tuple[Exercise, ...]

    @property
    def notebook(self) -> str:
        return f"{self.module}.ipynb"


def assignments(course: Course) -> list[Assignment]:
    """One assignment per course module that has exercises, exercises in notebook order."""
    out = []
    for module in course.modules:
        chosen = tuple(e for e in course.exercises if e.module == module)
        if chosen:
            out.append(Assignment(module, module, chosen))
    return out


def build_course_dir(course: Course, course_dir: Path, *, force: bool = False) -> list[Path]:
    """Write nbgrader_config.py and the source notebooks; return the files written."""
    course_dir = Path(course_dir)
    written = [_write(course_dir / "nbgrader_config.py", config_text(course), force)]
    for assignment in assignments(course):
        nb = assignment_notebook(course, assignment)
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        written.append(_write(course_dir / "source" / assignment.name / assignment.notebook, text, force))
    return written


def _write(path: Path, text: str, force: bool) -> Path:
    if path.exists() and path.read_text() != text and not force:
        raise BuildError(f"{path} exists and differs from what would be written (edited by hand?); "
                         f"pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def course_id(course: Course) -> str:
    return re.sub(r"[^a-z0-9]+", "-", course.name.lower()).strip("-") or "course"


def config_text(course: Course) -> str:
    timeout = int(max(120, 6 * course.limits.time_s))
    return f'''"""nbgrader configuration for the course "{course.name}", written by `torchgrade nbgrader build`."""
import os

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = {course_id(course)!r}
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# torchgrade's test cells run in the notebook's kernel and find the course through this variable.
os.environ.setdefault({COURSE_ENV!r}, {str(course.file.resolve())!r})

# The first test cell of a notebook starts torchgrade's grader (torch and a sandbox): allow for it.
c.Execute.timeout = {timeout}

c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


def assignment_notebook(course: Course, assignment: Assignment) -> dict:
    source = _solution_module(course, assignment)
    ordered = order_by_use(assignment.exercises, source.functions)
    out = [cells.markdown_cell(_header(course, assignment), f"{assignment.name}_header")]
    setup = source.imports or "import torch"
    if source.helpers:
        setup += f"\n\n{cells.BEGIN_SOLUTION}\n{source.helpers}\n{cells.END_SOLUTION}"
    out.append(cells.code_cell(setup))
    for exercise in ordered:
        out.append(cells.markdown_cell(_statement(exercise), f"{exercise.id}_statement"))
        out.append(cells.solution_cell(exercise.id, _solution(exercise, source)))
        has_hidden = any(check.hidden for check in exercise.checks)
        out.append(cells.test_cell(exercise.id, exercise.max_score, has_hidden))
    return cells.notebook(out)


def _solution_module(course: Course, assignment: Assignment) -> ModuleSource:
    path = course.root / "solutions" / f"{assignment.module}.py"
    names = {e.function_name for e in assignment.exercises}
    if not path.is_file():
        return ModuleSource(path, "", "", {})
    try:
        return read_module_source(path, names)
    except SolutionSourceError as exc:
        raise BuildError(str(exc)) from None


def order_by_use(exercises: tuple[Exercise, ...], functions: dict[str, FunctionSource]) -> list[Exercise]:
    """The solution file's order (the teacher's reading order; course order for the rest), except
    that a function comes after the exercise functions its solution calls.

    A test cell grades what the kernel has run so far, so `neuron` (which calls `sigmoid`) must
    come after `sigmoid`.
    """
    in_file = list(functions)
    exercises = tuple(sorted(exercises, key=lambda e: in_file.index(e.function_name)
                             if e.function_name in in_file else len(in_file)))
    done: list[Exercise] = []
    visiting: set[str] = set()

    def visit(exercise: Exercise) -> None:
        if exercise in done or exercise.function_name in visiting:
            return
        visiting.add(exercise.function_name)
        source = functions.get(exercise.function_name)
        used = source.names_used if source else frozenset()
        for other in exercises:
            if other.function_name in used and other is not exercise:
                visit(other)
        done.append(exercise)

    for exercise in exercises:
        visit(exercise)
    return done


def _solution(exercise: Exercise, source: ModuleSource) -> str:
    """The solution's def line, the exercise's title as docstring (the teacher's docstring may give
    the answer away), then the solution's body."""
    function = source.functions.get(exercise.function_name)
    if function is None or not function.body:
        head, body, indent = f"def {exercise.signature}:", "    raise NotImplementedError()", "    "
    else:
        head, body, indent = function.head, function.body, function.indent
    return cells.solution_function_source(f'{head}\n{indent}"""{exercise.title}."""', body, indent)


def _header(course: Course, assignment: Assignment) -> str:
    points = sum(e.max_score for e in assignment.exercises)
    hidden = any(c.hidden for e in assignment.exercises for c in e.checks)
    return (f"# {course.name}: `{assignment.module}.py`\n\n"
            f"{len(assignment.exercises)} exercises, {points:g} points. Write each function in the cell under its "
            f"statement, replacing `raise NotImplementedError()`; keep its name and arguments. Run the cells in "
            f"order: the cell after each exercise grades the code this notebook has run so far with torchgrade "
            f"and shows your score and feedback."
            + (" Your teacher also runs hidden checks." if hidden else ""))


def _statement(exercise: Exercise) -> str:
    hidden = sum(c.points for c in exercise.checks if c.hidden)
    lines = [f"## {exercise.title} ({exercise.max_score:g} points)", "", f"`{exercise.signature}`", "",
             exercise.statement.rstrip()]
    if hidden:
        lines += ["", f"*{hidden:g} of the {exercise.max_score:g} points come from hidden checks, "
                      f"run when your teacher grades.*"]
    return "\n".join(lines)
