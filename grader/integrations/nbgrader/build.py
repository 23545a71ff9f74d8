"""course.yaml → an nbgrader course directory: nbgrader_config.py and one source notebook per module.

Each course module becomes one assignment, `source/<module>/<module>.ipynb`. Per function: a
read-only statement cell and a solution cell (the def line from `solutions/<module>.py`, its body
between the solution markers), then per exercise a locked autograder test cell worth the
exercise's points, which grades the kernel's code with torchgrade. Its source is the same in the
teacher's and the student's notebook, so nbgrader's checksum of that locked cell holds and stock
`nbgrader autograde` sees no tampering; hidden checks run where nbgrader_config.py is loaded
(the teacher's grading), through an environment variable it sets. Questions share one solution cell, the ANSWERS dict. The directory is the teacher's: it holds the solutions;
`nbgrader generate_assignment` strips them from what students get.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ...release.answers import answers_help, answers_source, question_text, questions
from ...release.starters import Function, functions
from ...spec import Course, Exercise
from . import cells
from .kernel import COURSE_ENV, HIDDEN_ENV  # how test cells find course.yaml and grade hidden checks
from .solution_source import FunctionSource, ModuleSource, SolutionSourceError, read_module_source


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
# nbgrader's apps read this file, students' notebooks do not: here test cells grade the hidden checks too.
os.environ.setdefault({HIDDEN_ENV!r}, "1")

# The first test cell of a notebook starts torchgrade's grader (torch and a sandbox): allow for it.
c.Execute.timeout = {timeout}

c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


#: grade_id of the one solution cell that answers every question of a module (its ANSWERS dict).
ANSWERS_CELL = "answers"


def solution_cell_id(exercise: Exercise, asked: set[str]) -> str:
    """The grade_id of the solution cell where the exercise is answered: its function, or ANSWERS."""
    return ANSWERS_CELL if exercise.id in asked else exercise.function_name


def statement_cell_id(exercise: Exercise, asked: set[str]) -> str:
    """The grade_id of the read-only cell that states the exercise (one per function, one per question)."""
    return f"{exercise.id if exercise.id in asked else exercise.function_name}_statement"


def assignment_notebook(course: Course, assignment: Assignment) -> dict:
    source = _solution_module(course, assignment)
    chosen = {e.id for e in assignment.exercises}
    groups = [f for f in functions(course) if f.module == assignment.module]
    asked = [e for e in questions(course) if e.id in chosen]
    out = [cells.markdown_cell(_header(course, assignment, asked), f"{assignment.name}_header"),
           cells.code_cell(source.imports or "import torch")]
    for function in order_by_use(groups, source.functions):
        out.append(cells.markdown_cell(_statement(function.exercises, function.signature),
                                       statement_cell_id(function.exercises[0], set())))
        out.append(cells.solution_cell(function.name, _solution(function, source)))
        out += [_test_cell(exercise) for exercise in function.exercises]
    if asked:
        out += [cells.markdown_cell(_statement((e,), None, question_text(e)), statement_cell_id(e, chosen))
                for e in asked]
        out.append(cells.solution_cell(ANSWERS_CELL, _answers(course, asked, source)))
        out += [_test_cell(exercise) for exercise in asked]
    return cells.notebook(out)


def _test_cell(exercise: Exercise) -> dict:
    return cells.test_cell(exercise.id, exercise.max_score, any(check.hidden for check in exercise.checks))


def _solution_module(course: Course, assignment: Assignment) -> ModuleSource:
    path = course.root / "solutions" / f"{assignment.module}.py"
    names = {e.function_name for e in assignment.exercises}
    if not path.is_file():
        return ModuleSource(path, "", (), {})
    try:
        return read_module_source(path, names)
    except SolutionSourceError as exc:
        raise BuildError(str(exc)) from None


def order_by_use(groups: list[Function], functions: dict[str, FunctionSource]) -> list[Function]:
    """The solution file's order (the teacher's reading order; course order for the rest), except
    that a function comes after the exercise functions its solution calls.

    A test cell grades what the kernel has run so far, so `neuron` (which calls `sigmoid`) must
    come after `sigmoid`.
    """
    in_file = list(functions)
    groups = sorted(groups, key=lambda f: in_file.index(f.name) if f.name in in_file else len(in_file))
    done: list[Function] = []
    visiting: set[str] = set()

    def visit(function: Function) -> None:
        if function in done or function.name in visiting:
            return
        visiting.add(function.name)
        source = functions.get(function.name)
        used = source.uses if source else frozenset()
        for other in groups:
            if other.name in used and other is not function:
                visit(other)
        done.append(function)

    for function in groups:
        visit(function)
    return done


def _solution(function: Function, source: ModuleSource) -> str:
    """The solution's def line, the title as docstring (the teacher's docstring may give the answer
    away), then the solution's body with the helpers it needs."""
    found = source.functions.get(function.name)
    if found is None or not found.body:
        head, body, indent = f"def {function.signature}:", "    raise NotImplementedError()", "    "
    else:
        head, body, indent = found.head, source.solution_body(function.name), found.indent
    title = function.title if function.title[-1:] in ".?!" else f"{function.title}."
    return cells.solution_function_source(f'{head}\n{indent}"""{title}"""', body, indent)


def _answers(course: Course, asked: list[Exercise], source: ModuleSource) -> str:
    """The form of ANSWERS as comments, then the teacher's answers between the solution markers."""
    template = "".join(f"# {line}".rstrip() + "\n" for line in answers_source(course, asked).splitlines())
    solution = source.helper_source or "ANSWERS = {}"
    return f"{template}{cells.BEGIN_SOLUTION}\n{solution}\n{cells.END_SOLUTION}"


def _header(course: Course, assignment: Assignment, asked: list[Exercise]) -> str:
    points = sum(e.max_score for e in assignment.exercises)
    hidden = any(c.hidden for e in assignment.exercises for c in e.checks)
    text = (f"# {course.name}: `{assignment.module}.py`\n\n"
            f"{len(assignment.exercises)} exercises, {points:g} points. Run the cells in order: the cell after each "
            f"exercise grades the code this notebook has run so far with torchgrade and shows your score and "
            f"feedback. Only imports and definitions are graded.")
    if len(asked) < len(assignment.exercises):
        text += (" Write each function in the cell under its statement, replacing `raise NotImplementedError()`; "
                 "keep its name and arguments.")
    if asked:
        shuffled = any(getattr(e.checks[0], "shuffle", False) for e in asked)
        text += f"\n\n{answers_help(shuffled)} Write your ANSWERS dict in the cell after the questions."
    if hidden:
        text += " Your teacher also runs hidden checks."
    return text


def _statement(exercises: tuple[Exercise, ...], signature: str | None, text: str | None = None) -> str:
    lines = []
    for exercise in exercises:
        hidden = sum(c.points for c in exercise.checks if c.hidden)
        lines += [f"## {exercise.title} ({exercise.max_score:g} points)", ""]
        if signature:
            lines += [f"`{signature}`", ""]
        lines.append((text or exercise.statement).rstrip())
        if hidden:
            lines += ["", f"*{hidden:g} of the {exercise.max_score:g} points come from hidden checks, "
                          f"run when your teacher grades.*"]
        lines.append("")
    return "\n".join(lines).rstrip()
