"""experiment: call the function with each keyword set; the numbers it returns must have every property.

For experiments whose exact numbers are not the point (gradient norms per layer): each case is one
keyword set from the check's `kwargs`; the child calls the learner's function (and again, as
`deterministic` / `changes_with` ask), and the grader checks each property of property_rules on
the returned numbers, beside the reference's own run of the same call. The reference must have
every property itself, or preparing the check fails with a message for the teacher.

With `plot:`, the last call also runs every keyword set once more, and its verdict attaches a PNG
of the learner's numbers beside the reference's (feedback/<file>).
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from grader.calls import Call
from grader.cases import Case
from grader.checks.base import (CaseVerdict, Context, Prepared, SpecProblem, call_key, error_verdict, new_call,
                                signature_order)
from grader.checks.expected import expected_by_case
from grader.python_source import parse as parse_python
from grader.recording import experiment_probe
from grader.spec import Exercise, resolve_callable
from grader.spec.checks import CheckBase

from ..model import ExperimentCheck
from ..record import ExperimentRecord
from .property_rules import check_property, numbers_of, override_key
from .series_plot import Panel, render_panels

DRAWS_PICTURES = True  # run.grade_submission has matplotlib made ready while the child runs


@dataclass(frozen=True)
class KeywordCase(Case):
    """One call made with keywords only; labelled as the call itself."""

    function: str = ""

    @property
    def label(self) -> str:
        return f"{self.function}({', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())})"


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    assert isinstance(check, ExperimentCheck)
    defaults = signature_defaults(exercise.signature)
    _check_names(exercise, check, defaults)
    cases = [KeywordCase(f"call-{i}", {}, dict(kw), "float32", "cpu", function=exercise.function_name)
             for i, kw in enumerate(check.kwargs or [])]
    options = {"rerun": any(p.name == "deterministic" for p in check.properties),
               "changes": [p.changes_with for p in check.properties if p.changes_with is not None],
               "observe": any(p.name in ("distinct_layers", "weight_gradient_norms") for p in check.properties)}
    calls = [_call(check, case, options) for case in cases]
    if check.plot is not None and calls:
        calls[-1]["options"]["plot"] = [dict(case.kwargs) for case in cases]
    prepared = Prepared(exercise, check, cases, calls)

    def reference_record(case: Case) -> dict[str, Any]:
        reference = resolve_callable(ctx.course.root, exercise.reference)
        record = experiment_probe(reference, _call(check, case, options))
        if "error" in record:
            raise RuntimeError(f"{record['error']['type']}: {record['error']['message']}")
        return record

    prepared.expected.update(expected_by_case(ctx, exercise, check, cases, reference_record, "the reference"))
    for case in cases:
        record = _with_changes(prepared.expected[call_key(check, case)], options["changes"])
        for prop in check.properties:
            problem = check_property(prop, record, record, case.kwargs, defaults)
            if problem is not None:
                raise SpecProblem(f"{exercise.id}: check '{check.label}': the reference's own run of {case.label} "
                                  f"fails the property {prop.name}: {problem}")
    return prepared


def judge_case(prepared: Prepared, case: Case, result: ExperimentRecord) -> CaseVerdict:
    check: ExperimentCheck = prepared.check  # type: ignore[assignment]
    call = prepared.calls[prepared.cases.index(case)]
    attachments = _plot(prepared, result) if call["options"].get("plot") else {}
    note = (f"\nSee feedback/{check.plot.file}: your numbers beside the reference's, one line per call."
            if check.plot is not None else "")
    if "error" in result:
        verdict = error_verdict(case, result)
        return CaseVerdict(case.id, case.label, False, verdict.message + note, verdict.hint_key, attachments)
    reference = prepared.expected[call_key(check, case)]
    mine = _with_changes(result, call["options"]["changes"])
    defaults = signature_defaults(prepared.exercise.signature)
    for prop in check.properties:
        problem = check_property(prop, mine, reference, case.kwargs, defaults)
        if problem is not None:
            hint = f"\nHint: {prop.hint.strip()}" if prop.hint else ""
            return CaseVerdict(case.id, case.label, False, problem + hint + note, None, attachments)
    return CaseVerdict(case.id, case.label, True, note.strip() if attachments else "", None, attachments)


def _call(check: CheckBase, case: Case, options: dict[str, Any]) -> Call:
    return new_call(call_key(check, case), "experiment", kwargs=case.kwargs,
                    options={**options, "changes": [dict(c) for c in options["changes"]]})


def _with_changes(record: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The record with its `changed` runs keyed by the overrides that made them."""
    runs = record.get("changed") or []
    return {**record, "changed_by": {override_key(o): r for o, r in zip(changes, runs)}}


@lru_cache(maxsize=64)
def signature_defaults(signature: str) -> dict[str, Any]:
    """{parameter: default} of the literal defaults in 'f(a, b=1, c="x")'."""
    func = parse_python(f"def {signature}:\n    pass\n").body[0]
    args = func.args  # type: ignore[attr-defined]
    positional = args.posonlyargs + args.args
    out: dict[str, Any] = {}
    for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
        out[arg.arg] = _literal(default)
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        if default is not None:
            out[arg.arg] = _literal(default)
    return out


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _check_names(exercise: Exercise, check: ExperimentCheck, defaults: dict[str, Any]) -> None:
    """length_equals names an argument every call gives or defaults."""
    for prop in check.properties:
        name = prop.length_equals
        if isinstance(name, str) and any(name not in kw and name not in defaults for kw in check.kwargs or []):
            raise SpecProblem(f"{exercise.id}: check '{check.label}': length_equals: '{name}' is neither given in "
                              f"every keyword set nor defaulted in the signature {exercise.signature}")


def _plot(prepared: Prepared, result: dict[str, Any]) -> dict[str, Callable[[], bytes]]:
    """The learner's numbers beside the reference's, drawn only if the picture is kept (≈ 0.5 s)."""
    return {prepared.check.plot.file: functools.partial(_draw, prepared, result)}  # type: ignore[union-attr]


def _draw(prepared: Prepared, result: dict[str, Any]) -> bytes:
    check: ExperimentCheck = prepared.check  # type: ignore[assignment]
    assert check.plot is not None
    defaults = signature_defaults(prepared.exercise.signature)
    calls = [{**defaults, **case.kwargs} for case in prepared.cases]
    names = signature_order(prepared.exercise) + [k for c in calls for k in c]
    varying = [k for k in dict.fromkeys(names) if len({repr(c.get(k)) for c in calls}) > 1]
    labels = [", ".join(f"{k}={c.get(k)}" for k in varying) or prepared.cases[i].label for i, c in enumerate(calls)]
    reference = [numbers_of(prepared.expected[call_key(check, case)]["output"])[0] for case in prepared.cases]
    runs = result.get("plot") or []
    mine = [numbers_of(runs[i])[0] if i < len(runs) else None for i in range(len(prepared.cases))]
    png = render_panels(
        [Panel("reference", list(zip(labels, reference))),
         Panel(f"your {prepared.exercise.function_name}", list(zip(labels, mine)))],
        title=check.plot.title, xlabel=check.plot.xlabel, ylabel=check.plot.ylabel, log=check.plot.log)
    return png
