"""course.yaml and exercise YAML → a validated, typed Course.

Every problem a teacher can make is reported as `file:line: field: message` (SpecError),
never as a traceback. `load_course` collects all problems across files before raising.
"""
from __future__ import annotations

import ast
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .. import kinds
from .checks import CheckBase, LiteralTensor, TensorInput
from .loader import Located, SpecError, format_path, load_yaml, suggest
from .refs import ReferenceError_, aten_op_exists, resolve_callable
from .variants import Accepted, Mistake, Variant, variant_errors, variant_source
from ..python_source import parse as parse_python

if TYPE_CHECKING:
    from .models import CourseFile, Exercise, Limits, SandboxPolicy

#: The course and exercise models, loaded when first asked for: an exercise's `checks` is the union of
#: every kind's model (grader.kinds), and a kind's model builds on grader.spec.checks, so this package
#: must be importable before the kinds are.
_MODELS = ("CourseFile", "Exercise", "Limits", "SandboxPolicy")


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        from . import models
        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Course", "Exercise", "Limits", "SandboxPolicy", "SpecError", "SpecErrors", "load_course",
    "load_exercise", "resolve_callable", "CheckBase", "TensorInput", "LiteralTensor", "Mistake", "Accepted",
    "Variant", "variant_source",
]


class SpecErrors(Exception):
    """All the problems found in a course, one SpecError each."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class Course:
    root: Path
    file: Path
    name: str
    seed: int
    modules: tuple[str, ...]
    exercises: tuple[Exercise, ...]
    limits: Limits
    sandbox: SandboxPolicy
    solutions: str = "solutions"
    exercise_files: dict[str, Path] = field(default_factory=dict, compare=False)

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)

    @property
    def max_score(self) -> float:
        return sum(exercise.max_score for exercise in self.exercises)


def load_course(course_file: Path | str = "course.yaml") -> Course:
    course_file = Path(course_file)
    if course_file.is_dir():
        course_file = course_file / "course.yaml"
    located = load_yaml(course_file)
    from .models import CourseFile
    course_model = _validate(located, CourseFile)
    root = course_file.parent
    errors: list[SpecError] = []
    exercises: list[Exercise] = []
    files: dict[str, Path] = {}
    for index, pattern in enumerate(course_model.exercises):
        matches = sorted(glob.glob(str(root / pattern)))
        if not matches:
            errors.append(located.error(("exercises", index), f"no file matches '{pattern}'"))
        for match in matches:
            try:
                exercise = load_exercise(Path(match), root, course_model.modules)
            except SpecErrors as exc:
                errors.extend(exc.errors)
                continue
            except SpecError as exc:
                errors.append(exc)
                continue
            if exercise.id in files:
                errors.append(SpecError(match, 1, "id", f"'{exercise.id}' is already the id of {files[exercise.id]}"))
                continue
            files[exercise.id] = Path(match)
            exercises.append(exercise)
    if errors:
        raise SpecErrors(errors)
    return Course(
        root=root, file=course_file, name=course_model.name, seed=course_model.seed,
        modules=tuple(course_model.modules), exercises=tuple(exercises), limits=course_model.limits,
        sandbox=course_model.sandbox, solutions=course_model.solutions, exercise_files=files,
    )


def load_exercise(file: Path, course_root: Path, modules: list[str] | tuple[str, ...]) -> Exercise:
    from .models import Exercise
    located = load_yaml(file)
    exercise = _validate(located, Exercise)
    errors = list(_semantic_errors(exercise, located, course_root, modules))
    if errors:
        raise SpecErrors(errors)
    return exercise


def _validate(located: Located, model: type) -> Any:
    if not isinstance(located.data, dict):
        raise SpecError(located.file, 1, "", "expected a mapping of fields (key: value) at the top level")
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        raise SpecErrors([_explain(located, error) for error in exc.errors()]) from None


def _explain(located: Located, error: dict) -> SpecError:
    """Turn a pydantic error into a sentence a teacher can act on."""
    path = _data_path(located.data, tuple(error["loc"]))
    kind = error["type"]
    value = error.get("input")
    last = path[-1] if path else ""
    if kind == "extra_forbidden":
        known = _known_fields(located.data, path[:-1])
        message = f"unknown field '{last}'{suggest(str(last), known)}"
    elif kind == "missing":
        message = "this required field is missing"
    elif kind == "union_tag_invalid":
        known = ", ".join(kinds.names())
        message = f"unknown check kind '{error['ctx'].get('tag')}'{suggest(str(error['ctx'].get('tag')), kinds.names())}; known kinds: {known}"
        path = path + ("kind",)
    elif kind == "union_tag_not_found":
        message = "every check needs a 'kind' (" + ", ".join(kinds.names()) + ")"
    else:
        message = error["msg"].replace("Input should be", "must be").replace("Value error, ", "")
        if value is not None and not isinstance(value, (dict, list)):
            message += f" (got {value!r})"
    return located.error(path, message)


def _data_path(data: Any, loc: tuple) -> tuple:
    """pydantic's loc without the discriminator and union-member segments it inserts.

    A discriminated union puts the tag right after the check's index (checks, 0, <kind>, field);
    it is consumed first, so a kind that shares its name with one of its fields still maps right.
    """
    path: list = []
    node = data
    tag_pending = False
    for part in loc:
        if tag_pending and isinstance(node, dict) and node.get("kind") == part:
            tag_pending = False
            continue  # discriminator tag
        tag_pending = False
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
            tag_pending = isinstance(node, dict) and "kind" in node
        elif isinstance(part, str) and ("[" in part or part in {"list", "float", "int", "LiteralTensor"}):
            continue  # union member names
        else:
            path.append(part)
            node = None
    return tuple(path)


def _known_fields(data: Any, parent: tuple) -> set[str]:
    from .checks import CaseSource, Tolerance
    from .models import CourseFile, Exercise, Limits as L, SandboxPolicy as S
    node = data
    for part in parent:
        node = node[part] if isinstance(node, (dict, list)) else None
    if not parent:
        return set(Exercise.model_fields) | set(CourseFile.model_fields)
    if isinstance(node, dict) and node.get("kind") in kinds.names():
        return set(kinds.models()[node["kind"]].model_fields)
    names = set()
    for model in (TensorInput, LiteralTensor, Tolerance, L, S, CaseSource, Mistake, Accepted):
        names |= set(model.model_fields)
    return names


def _semantic_errors(exercise: Exercise, located: Located, course_root: Path, modules) -> list[SpecError]:
    """What pydantic cannot see: signatures, references, names across fields."""
    errors: list[SpecError] = []
    err = lambda path, msg: errors.append(located.error(path, msg))  # noqa: E731
    if exercise.module not in modules:
        err(("module",), f"'{exercise.module}' is not one of course.yaml's modules ({', '.join(modules)})")
    params = _signature_params(exercise, err)
    if exercise.reference is not None:
        try:
            resolve_callable(course_root, exercise.reference)
        except ReferenceError_ as exc:
            err(("reference",), str(exc))
    if exercise.expected is not None and not (Path(course_root) / exercise.expected).is_file():
        err(("expected",), f"'{exercise.expected}' does not exist next to course.yaml")
    for index, op in enumerate(exercise.forbid):
        if not aten_op_exists(op):
            err(("forbid", index), f"'{op}' is not an aten operator (write it as aten.sigmoid, aten._softmax …) nor autograd")
    names_seen: set[str] = set()
    first_source = next((c for c in exercise.checks if c.has_own_cases()), None)
    for index, check in enumerate(exercise.checks):
        base = ("checks", index)
        if check.label in names_seen:
            err(base + ("name",), f"two checks are called '{check.label}'; give each a distinct 'name'")
        names_seen.add(check.label)
        if check.needs_reference and exercise.reference is None and exercise.expected is None:
            err(("reference",) if "reference" not in located.data else base,
                f"a '{check.kind}' check needs the exercise's 'reference'")
        for path, message in check.course_errors(exercise, course_root):
            err(base + path, message)
        if not check.has_own_cases() and first_source is None and check.needs_cases:
            err(base, "this check has no 'inputs' or 'cases', and no earlier check has any to reuse")
        if params is not None:
            _check_arguments(check, params, base, err)
    _catalogue_errors(exercise, located, course_root, err)
    return errors


def _catalogue_errors(exercise: Exercise, located: Located, course_root: Path, err) -> None:
    """Mistakes and accepted variants: distinct ids, code that defines the function, files that exist."""
    if not (exercise.mistakes or exercise.accepted):
        return
    question = exercise.checks[0].answered_in is not None
    seen: dict[str, str] = {}
    for field_name in ("mistakes", "accepted"):
        for index, variant in enumerate(getattr(exercise, field_name)):
            base = (field_name, index)
            if variant.id in seen:
                err(base + ("id",), f"'{variant.id}' is already the id of an entry of {seen[variant.id]}")
            seen[variant.id] = field_name
            variant_errors(variant, exercise.function_name, course_root, err, base, question)


def _signature_params(exercise: Exercise, err) -> list[str] | None:
    try:
        tree = parse_python(f"def {exercise.signature}:\n    pass\n")
        func = tree.body[0]
        assert isinstance(func, ast.FunctionDef)
    except (SyntaxError, AssertionError):
        err(("signature",), f"'{exercise.signature}' is not a Python signature like 'softmax(x, dim=-1)'")
        return None
    if func.name != exercise.function_name:
        err(("signature",), f"names '{func.name}' but the function is '{exercise.function_name}'")
    args = func.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]


def _check_arguments(check: CheckBase, params: list[str], base: tuple, err) -> None:
    if check.inputs:
        lengths = {name: len(spec.shapes) for name, spec in check.inputs.items()}
        if len(set(lengths.values())) > 1:
            err(base + ("inputs",), f"every input needs the same number of shapes (case i uses shape i of each); got {lengths}")
        for name, spec in check.inputs.items():
            if name not in params:
                err(base + ("inputs", name), f"'{name}' is not a parameter of the signature ({', '.join(params)})")
            if spec.classes_of is not None and spec.classes_of not in check.inputs:
                err(base + ("inputs", name, "classes_of"), f"'{spec.classes_of}' is not another input of this check")
    for case_index, case in enumerate(check.cases):
        for name in case:
            if name not in params:
                err(base + ("cases", case_index, name), f"'{name}' is not a parameter of the signature ({', '.join(params)})")
    for kw_index, kwargs in enumerate(check.kwargs or []):
        for name in kwargs:
            if name not in params:
                err(base + ("kwargs", kw_index, name), f"'{name}' is not a parameter of the signature ({', '.join(params)})")
    wrt = getattr(check, "wrt", None) or []
    for index, name in enumerate(wrt):
        if name not in params:
            err(base + ("wrt", index), f"'{name}' is not a parameter of the signature")
