"""Name the mistake: a failing case's outputs compared with each catalogued mistake's outputs.

When the plan is built, every mistake of an exercise (`mistakes:` in its YAML) is run here, in the
grader's process, on the cases of the checks whose kind can name one (its judge has `mistake_output`
and `matches_mistake`: values, gradient, derivative), exactly as the reference is: it is teacher code,
never the learner's. When a learner's check fails,
their outputs on the first failing case are compared with each mistake's outputs on that case; a
mistake whose outputs they match (within the check's tolerance, where its outputs differ from the
expected ones, or that wrote into the same inputs) is named: its words come first in the feedback, and
the check carries its id.
"""
from __future__ import annotations

import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from .. import kinds
from ..cases import Case
from ..spec import Exercise, Mistake, variant_source
from .base import Context, Prepared, call_key
from .compare import tolerance_for


@dataclass(frozen=True)
class Output:
    """A mistake's result on one case of a values or derivative check."""

    value: torch.Tensor
    changed: tuple[str, ...] = ()   # the inputs it wrote into


#: exercise id → call key → [(mistake id, its outputs on that case)]
MistakeOutputs = dict[str, dict[str, list[tuple[str, Any]]]]


def mistake_outputs(ctx: Context, exercise: Exercise, prepared: list[Prepared]) -> dict[str, list[tuple[str, Any]]]:
    """Each mistake's outputs on every case of the exercise's tensor-comparing checks."""
    items = [p for p in prepared if hasattr(kinds.judge(p.check.kind), "mistake_output")]
    if not exercise.mistakes or not items:
        return {}
    solutions = Path(ctx.course.root) / ctx.course.solutions / f"{exercise.module}.py"
    if not solutions.is_file():
        return {}
    base = solutions.read_text(encoding="utf-8")
    out: dict[str, list[tuple[str, Any]]] = {}
    default_dtype = torch.get_default_dtype()
    # a mistake that draws or reseeds leaves the grader's RNG as it was; the warnings a mistake's code raises
    # (torch's, on purpose-made wrong code) are the teacher's catalogue talking, not something to print to a student
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _run_mistakes(ctx, exercise, items, base, solutions.parent, out)
        finally:
            torch.set_default_dtype(default_dtype)
    return out


def _run_mistakes(ctx: Context, exercise: Exercise, items: list[Prepared], base: str, folder: Path,
                  out: dict[str, list[tuple[str, Any]]]) -> None:
    for mistake in exercise.mistakes:
        if mistake.is_answer:
            continue
        function = _load(ctx, exercise, mistake, base, folder)
        if function is None:
            continue
        for item in items:
            for case in item.cases:
                value = _run(function, exercise, item, case)
                if value is not None:
                    out.setdefault(call_key(item.check, case), []).append((mistake.id, value))


def _load(ctx: Context, exercise: Exercise, mistake: Mistake, base: str, folder: Path) -> Callable | None:
    """The mistake's function, from the solutions module with the mistake appended; None if it does not load."""
    source = variant_source(mistake, exercise.function_name, base, ctx.course.root)
    module = types.ModuleType(f"_torchgrade_mistake_{exercise.id}_{mistake.id}")
    added = str(folder) not in sys.path
    if added:
        sys.path.insert(0, str(folder))
    try:
        exec(compile(source, f"<mistake {exercise.id}:{mistake.id}>", "exec"), module.__dict__)  # noqa: S102 (teacher code)
    except Exception:
        return None  # the audit reports a mistake that does not run; here it simply names nothing
    finally:
        if added:
            sys.path.remove(str(folder))
    function = module.__dict__.get(exercise.function_name)
    return function if callable(function) else None


def _run(function: Callable, exercise: Exercise, item: Prepared, case: Case) -> Any:
    """What the child would report for this case (the kind's mistake_output); None where the mistake
    raises or returns something the kind cannot compare."""
    try:
        return kinds.judge(item.check.kind).mistake_output(function, exercise, item, case)
    except Exception:
        return None


def plain(value: Any) -> torch.Tensor | None:
    """A plain CPU copy of a tensor the mistake returned; None for anything else."""
    if type(value) is torch.Tensor or isinstance(value, torch.nn.Parameter):
        return value.detach().to("cpu").clone()
    return None


def matching_mistake(exercise: Exercise, prepared: Prepared, case: Case, result: dict[str, Any],
                     outputs: dict[str, list[tuple[str, Any]]], results: dict[str, Any] | None = None) -> Mistake | None:
    """The catalogued mistake whose outputs on `case` the learner's `result` matches, if any, and, where the
    kind can tell (`agrees_with_mistake`) and `results` holds the check's other records, whose outputs the
    learner's equal on every other case too: a function that fails one case as a mistake would, but passes
    cases the mistake fails, made another mistake. Naming a mistake only adds words to feedback: whatever
    the result holds, it never costs the learner a verdict."""
    try:
        return _matching(exercise, prepared, case, result, outputs, results or {})
    except Exception:
        return None


def _matching(exercise: Exercise, prepared: Prepared, case: Case, result: dict[str, Any],
              outputs: dict[str, list[tuple[str, Any]]], results: dict[str, Any]) -> Mistake | None:
    candidates = outputs.get(call_key(prepared.check, case))
    if not candidates or "error" in result:
        return None
    expected = prepared.expected.get(call_key(prepared.check, case))
    rtol, atol = tolerance_for(prepared.check, case.dtype)
    by_id = {m.id: m for m in exercise.mistakes}
    judge = kinds.judge(prepared.check.kind)
    for mistake_id, theirs in candidates:
        if mistake_id in by_id and judge.matches_mistake(result, theirs, expected, rtol, atol) \
                and _agrees_elsewhere(judge, prepared, mistake_id, outputs, results):
            return by_id[mistake_id]
    return None


def _agrees_elsewhere(judge: Any, prepared: Prepared, mistake_id: str, outputs: dict[str, list[tuple[str, Any]]],
                      results: dict[str, Any]) -> bool:
    """Whether the learner's output equals the mistake's on every other case where both are known."""
    agrees = getattr(judge, "agrees_with_mistake", None)
    if agrees is None:
        return True
    for case in prepared.cases:
        key = call_key(prepared.check, case)
        mine = results.get(key)
        theirs = next((value for given, value in outputs.get(key, ()) if given == mistake_id), None)
        if theirs is None or not isinstance(mine, dict) or "error" in mine:
            continue
        if not agrees(mine, theirs, *tolerance_for(prepared.check, case.dtype)):
            return False
    return True


def record_tensor(record: Any) -> torch.Tensor | None:
    """The tensor a record holds, if it is one (a learner's record is read as untrusted data)."""
    if isinstance(record, dict) and record.get("kind") == "tensor" and isinstance(record.get("value"), torch.Tensor):
        return record["value"]
    return None


def same(a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float) -> bool:
    """Same dtype and shape, and every element close (nan where nan, an infinity where the same one)."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return False
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.numel() == 0:
        return True
    if a.dtype == torch.bool or not (a.is_floating_point() or a.is_complex()):
        return bool(torch.equal(a.cpu(), b.cpu()))
    return bool(torch.isclose(a.cpu().double(), b.cpu().double(), rtol=rtol, atol=atol, equal_nan=True).all())
