"""plot: what a plotting function drew (inspected in the child) and saved (a PNG), against the reference.

The child calls the student's function once per case and returns plain data (see
grader/probes/plot.py); here each aspect the check `requires` is judged (plot_aspects.py) against
curves computed with torch and autograd. A failed case attaches two pictures for the student:
their PNG beside the reference, and their curves or bars drawn over the reference.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Any

from grader.checks.base import CaseVerdict, Context, Prepared, call_key, error_verdict, new_call
from grader.spec import Exercise

from ..model import PlotCheck
from ..record import PlotRecord
from .aspects import ASPECTS, two_axes
from .cases import PlotCase, build_cases, share_key
from .images import overlay, side_by_side
from .png import read_png

_PICTURES: dict[str, dict[str, bytes]] = {}  # a case that fails several checks is drawn once
_FIRST_FAILED: dict[tuple[str, str, str], str] = {}  # (child, exercise, check) → its first failing case
_PICTURES_LOCK = threading.Lock()
DRAWS_PICTURES = True  # run.grade_submission has matplotlib made ready while the child runs
CJK_NOTE = ("Some of your text uses characters the grader's fonts cannot draw (they show as boxes in the "
            "pictures); titles are graded by their text, so this costs nothing.")


def prepare(ctx: Context, exercise: Exercise, check: PlotCheck) -> Prepared:  # type: ignore[override]
    cases = build_cases(ctx.course.root, exercise, check)
    calls = [new_call(call_key(check, case), "plot", arg_names=[_first_parameter(exercise)], args=[case.argument],
                      options={"share": share_key(exercise, case), "filename": f"{exercise.id}-{case.id}.png"})
             for case in cases]
    return Prepared(exercise, check, cases, calls)  # type: ignore[arg-type]


def _first_parameter(exercise: Exercise) -> str:
    from grader.checks.base import signature_order
    return signature_order(exercise)[0]


def judge_case(prepared: Prepared, case: PlotCase, result: PlotRecord) -> CaseVerdict:  # type: ignore[override]
    if "error" in result:
        return error_verdict(case, result)  # type: ignore[arg-type]
    check: PlotCheck = prepared.check  # type: ignore[assignment]
    problems: list[str] = []
    for aspect in check.requires:
        problem = ASPECTS[aspect](result, case, check.tolerance, check.x_range)
        if problem is not None and problem not in problems:  # layout and curves both report a bad layout
            problems.append(problem)
    if not problems:
        return CaseVerdict(case.id, case.label, True, _note(result) if "titles" in check.requires else "")
    attachments = _pictures(prepared.exercise, case, result, check) if _first_failure(prepared, case, result) else {}
    message = "\n".join(problems)
    if attachments:
        what = {"side-by-side.png": "your plot beside the reference",
                "diff.png": "your curves or bars over the reference, what is off in red"}
        parts = [f"feedback/{name} ({text})" for ending, text in what.items()
                 for name in attachments if name.endswith(ending)]
        message += "\nSee " + " and ".join(parts) + "."
    return CaseVerdict(case.id, case.label, False, message, None, attachments)


def _first_failure(prepared: Prepared, case: PlotCase, result: dict[str, Any]) -> bool:
    """Whether this is the first failing case of its check in this grading (the one the feedback
    names): only it gets pictures, which cost about 0.2 s each to draw."""
    key = (str(result.get("child")), prepared.exercise.id, prepared.check.label)
    with _PICTURES_LOCK:
        if len(_FIRST_FAILED) > 10_000:
            _FIRST_FAILED.clear()
        return _FIRST_FAILED.setdefault(key, case.id) == case.id


def _note(result: dict[str, Any]) -> str:
    noise = result.get("noise", {})
    if any("missing from font" in w or "Glyph" in w for w in noise.get("warnings", [])):
        return CJK_NOTE
    return ""


def _digest(exercise: Exercise, case: PlotCase, result: dict[str, Any], check: PlotCheck) -> str:
    h = hashlib.sha1(f"{exercise.id}/{case.id}/{check.tolerance}/{check.x_range}".encode())
    saved = result.get("file", {})
    if "bytes" in saved:
        h.update(saved["bytes"].numpy().tobytes())
    for axes in (result.get("figure") or {}).get("axes", []):
        h.update(repr(axes.get("position")).encode())
        for curve in axes.get("curves", []):
            h.update(curve["x"].numpy().tobytes() + curve["y"].numpy().tobytes())
        for group in axes.get("bars", []):
            h.update(group["rects"].numpy().tobytes())
    return h.hexdigest()


def _pictures(exercise: Exercise, case: PlotCase, result: dict[str, Any], check: PlotCheck) -> dict[str, bytes]:
    """{name: PNG bytes} of the side-by-side and overlay pictures; {} if they cannot be drawn."""
    key = _digest(exercise, case, result, check)
    with _PICTURES_LOCK:
        if key in _PICTURES:
            return _PICTURES[key]
    stem = f"{exercise.id}-{case.id}"
    pictures: dict[str, bytes] = {}
    try:
        saved = result.get("file", {})
        png = read_png(saved["bytes"].numpy().tobytes())[0] if "bytes" in saved else None
        pictures[f"{stem}-side-by-side.png"] = side_by_side(result, png, case, check.x_range)
        axes, _ = two_axes(result)
        if axes is not None:
            pictures[f"{stem}-diff.png"] = overlay(axes, case, check.tolerance, check.x_range)
    except Exception:  # a picture is a courtesy: never let it change a verdict
        pictures = {}
    with _PICTURES_LOCK:
        if len(_PICTURES) > 256:
            _PICTURES.clear()
        _PICTURES[key] = pictures
    return pictures
