"""Judging: what a child saved for each exercise, compared case by case with the plan's expectations,
scored, and its feedback pictures drawn. Plain data in, verdicts out; nothing here runs the learner's code.
"""
from __future__ import annotations

import dataclasses
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import torch

from . import kinds, wire
from .checks import CaseVerdict
from .checks.mistakes import matching_mistake, record_tensor
from .intake import Submission, unread_module
from .plan import Plan, checks_of
from .records import Record, read_record
from .scoring import CheckResult, ExerciseResult, score_check, values_verdict, whole_exercise, with_note
from .spec import Exercise

JUDGING_FAILED = ("The grader could not judge what came back from this exercise: it was not the plain data the "
                  "checks expect. Did your code change the grader's files or objects? If it does nothing of the "
                  "kind, tell your teacher: this may be a fault in the grader.")


class EarlyVerdicts:
    """Exercises judged while the child is still running the later ones.

    The child says when it has finished an exercise, but the learner's code runs in the same child
    and could say so too, or write the file again later. So an early verdict is only a cache: it is
    used when the bytes it judged are exactly those the grader reads once the child has ended, which
    makes the outcome the same as judging everything at the end, only sooner.

    Judging happens on a thread of its own, one exercise after another, so that the thread listening to
    a server is free to start the server's next child at once (a drawn picture takes a few tenths of a
    second). `close()` ends that thread."""

    def __init__(self, plan: Plan, pictures_of_passing_work: bool, budget: wire.Budget | None = None):
        self._plan = plan
        self._budget = budget  # bounds what the records read early hold; a record past it is read at the end
        self._pictures = pictures_of_passing_work
        self._exercises = {e.id: e for e in plan.exercises}
        self._verdicts: dict[str, tuple[Record, ExerciseResult]] = {}
        self._read: dict[str, Record] = {}
        self._pending: dict[str, Future] = {}
        self._judging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torchgrade-judging")

    def offer(self, exercise_id: str, file: Path) -> None:
        exercise = self._exercises.get(exercise_id)
        if exercise is None or exercise_id in self._pending:
            return
        try:
            self._pending[exercise_id] = self._judging.submit(self._judge, exercise, file)
        except RuntimeError:  # closed: judged at the end
            return

    def _judge(self, exercise: Exercise, file: Path) -> None:
        try:
            record = read_record(file, budget=self._budget)
        except Exception:
            return  # read at the end, from the file as it is then (and any error reported there)
        if record is None:
            return
        self._read[exercise.id] = record  # read once, whatever judging does
        try:
            self._verdicts[exercise.id] = (record, judge_exercise(self._plan, exercise, record.data, None,
                                                                   self._pictures))
        except Exception:
            return  # judged at the end (and any error reported there)

    def _settled(self, exercise_id: str) -> None:
        pending = self._pending.get(exercise_id)
        if pending is not None and not pending.cancelled():
            pending.result()  # _judge raises nothing

    def record(self, exercise_id: str) -> Record | None:
        """The record read early, if any (once its judging is done): reading the same bytes again need not
        unpickle them again."""
        self._settled(exercise_id)
        return self._read.get(exercise_id)

    def verdict(self, exercise_id: str, final: Record | None) -> ExerciseResult | None:
        self._settled(exercise_id)
        early = self._verdicts.get(exercise_id)
        if early is None or final is None or early[0].raw != final.raw:
            return None
        return early[1]

    def close(self) -> None:
        """End the judging thread: at once, dropping what it has not started (judged at the end instead)."""
        self._judging.shutdown(wait=False, cancel_futures=True)


#: Said where a check's non-contiguous case failed and the same numbers, contiguous, pass.
LAYOUT_NOTE = ("The same numbers laid out contiguously pass: your function depends on how its input sits in "
               "memory. .view() needs contiguous memory (use .reshape(), or .contiguous() first), and code that "
               "walks x.storage() or calls torch.as_strided assumes the layout of a fresh tensor.")


def with_layout_note(prepared, verdicts: list[CaseVerdict], results: dict) -> list[CaseVerdict]:
    """The verdicts, the first failing one told that the layout is the cause where it is a strided case whose
    run on contiguous copies (the call probe's `contiguous`) passes the same judging."""
    kind = kinds.judge(prepared.check.kind)
    for index, (case, call, verdict) in enumerate(zip(prepared.cases, prepared.calls, verdicts)):
        if verdict.passed:
            continue
        result = results.get(call["key"])
        if not getattr(case, "strided", False) or not isinstance(result, dict) \
                or not isinstance(result.get("contiguous"), dict):
            return verdicts
        control = result["contiguous"]
        try:
            if not kind.judge_case(prepared, case, control).passed:
                return verdicts
        except Exception:
            return verdicts
        return _with_note(verdicts, index, LAYOUT_NOTE)
    return verdicts


#: Said where only a check's float16/bfloat16 cases failed.
HALF_PRECISION_NOTE = ("Only the float16 and bfloat16 cases fail; float32 and float64 pass. In half precision each step "
                       "keeps about 3 significant digits (bfloat16: 2), so a formula that subtracts nearly equal "
                       "numbers, such as x + (negative_slope - 1) * x, loses them: compute each value the way that "
                       "rounds least (negative_slope * x directly), as torch does.")


def with_half_precision_note(cases: list, verdicts: list[CaseVerdict], near: list[bool] | None = None) -> list[CaseVerdict]:
    """The verdicts, the first failing one told so where every failing case is a half-precision one whose
    numbers are near the expected ones (`near`: a rounding loss, not a sign, a formula or a dtype gone wrong)
    and a float32 or float64 case passed."""
    failed = [i for i, (case, v) in enumerate(zip(cases, verdicts)) if not v.passed]
    if not failed or not all(getattr(cases[i], "dtype", None) in ("float16", "bfloat16") for i in failed) \
            or not all(near is None or near[i] for i in failed) \
            or not any(v.passed and getattr(case, "dtype", None) in ("float32", "float64")
                       for case, v in zip(cases, verdicts)):
        return verdicts
    return _with_note(verdicts, failed[0], HALF_PRECISION_NOTE)


def _near_expected(prepared, results: dict) -> list[bool]:
    """Per case: the learner's output is a tensor of the expected dtype and shape within 10 % of the expected,
    or 1 % of the largest expected magnitude (what rounding loses where nearly equal numbers cancel)."""
    near = []
    for call in prepared.calls:
        got = record_tensor((results.get(call["key"]) or {}).get("output"))
        want = prepared.expected.get(call["key"])
        near.append(isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.dtype == want.dtype
                    and got.shape == want.shape and bool(torch.isclose(
                        got.double(), want.double(), rtol=0.1, equal_nan=True,
                        atol=0.01 * float(want.double().abs().nan_to_num(0.0, 0.0, 0.0).amax()) if want.numel() else 0.0).all()))
    return near


def _with_note(verdicts: list[CaseVerdict], index: int, note: str) -> list[CaseVerdict]:
    """The verdicts, the one at `index` with `note` on a line of its own after its message."""
    return [*verdicts[:index], dataclasses.replace(verdicts[index], message=verdicts[index].message + "\n" + note),
            *verdicts[index + 1:]]


def drawn_in_judging(plan: Plan) -> frozenset[str]:
    """The exercises whose judging may draw with matplotlib, the costliest to judge: worth preparing
    matplotlib in the background for, and running their modules first so that judging them overlaps the
    other modules' children."""
    return frozenset(exercise_id for exercise_id, prepared in plan.prepared.items()
                     if any(getattr(kinds.judge(p.check.kind), "DRAWS_PICTURES", False) for p in prepared))


def judge_exercise(plan: Plan, exercise: Exercise, record: dict | None,
                     failure: tuple[str, str] | None, pictures_of_passing_work: bool = True) -> ExerciseResult:
    checks = checks_of(plan, exercise)
    if failure is not None:
        return whole_exercise(exercise, checks, failure[0], failure[1])  # type: ignore[arg-type]
    assert record is not None
    status = record.get("status")
    if status == "missing_module":
        return whole_exercise(exercise, checks, "failed",
                              f"Not submitted: there is no {exercise.module}.py in the submission.")
    if status == "missing_function":
        return whole_exercise(exercise, checks, "failed",
                              f"Not submitted: {exercise.module}.py defines no function {exercise.function_name}.")
    if status == "signature":
        return whole_exercise(exercise, checks, "failed", signature_message(exercise, record))
    if status == "import_error":
        error = record["error"]
        where = f" ({error['where']}: {error['line']})" if error.get("where") else ""
        return whole_exercise(exercise, checks, "error",
                              f"Importing {exercise.module}.py raised {error['type']}: {error['message']}{where}. "
                              f"Every exercise in {exercise.module}.py scores 0 until it imports.")
    results = record.get("results", {})
    judged = []
    for prepared in plan.prepared[exercise.id]:
        kind = kinds.judge(prepared.check.kind)
        verdicts = []
        mistake = None
        named = False  # the first failing case (the one the feedback names) has been compared with the mistakes
        for case, call in zip(prepared.cases, prepared.calls):  # one call per case, in order
            result = results.get(call["key"])
            if not isinstance(result, dict):
                verdicts.append(CaseVerdict(case.id, case.label, False, "No result came back for this case.", "error"))
                named = True
                continue
            verdicts.append(kind.judge_case(prepared, case, result))
            if not verdicts[-1].passed and not named:
                named = True
                mistake = matching_mistake(exercise, prepared, case, result, plan.mistakes.get(exercise.id, {}), results)
        verdicts = with_half_precision_note(prepared.cases, with_layout_note(prepared, verdicts, results),
                                            _near_expected(prepared, results))
        if not pictures_of_passing_work and all(v.passed for v in verdicts):
            verdicts = [dataclasses.replace(v, attachments={}, message="") if v.attachments else v for v in verdicts]
        judged.append((prepared.check, verdicts, mistake))
    values = values_verdict([(check.kind, verdicts) for check, verdicts, _ in judged])
    out = [drawn(score_check(exercise, check, verdicts, mistake, values)) for check, verdicts, mistake in judged]
    note = left_changed_note(record.get("left_changed"))
    if note and out:
        out[0] = with_note(out[0], note)
    return ExerciseResult(exercise.id, exercise.title, tuple(out))


#: What the child may say an exercise left changed for the whole process (grader.probes.process_state).
_CHANGED = {
    "grad_mode": "switched gradient tracking off or on (torch.set_grad_enabled)",
    "inference_mode": "entered inference mode",
    "default_dtype": "changed the default dtype (torch.set_default_dtype)",
    "function_modes": "set a default device or entered a device context or a torch function mode "
                      "(torch.set_default_device, torch.device(...).__enter__())",
    "torch_function": "switched torch function overrides off",
    "dispatch_modes": "entered a torch dispatch mode",
    "dispatch_keys": "changed which of torch's dispatch keys are in use (torch._C._dispatch_tls_set_dispatch_key_excluded)",
    "dual_level": "entered a forward-mode AD dual level and did not exit it (use `with forward_ad.dual_level():`)",
    "functorch_level": "entered a torch.func transform level and did not leave it",
    "module_hooks": "registered a global hook on every torch.nn module",
    "library": "registered an operator or kernel with torch.library",
    "saved_tensors_hooks": "entered a saved-tensors hook (torch.autograd.graph.saved_tensors_hooks)",
    "autocast": "switched autocast on or off",
    "deterministic": "changed torch.use_deterministic_algorithms",
    "anomaly_mode": "changed autograd's anomaly detection",
    "matmul_precision": "changed torch.set_float32_matmul_precision",
    "warnings": "changed the warnings filters",
    "numpy_errors": "changed numpy's error handling (numpy.seterr)",
    "timers": "left a timer running (signal.alarm or signal.setitimer)",
    "threads": "left a thread running",
    "working_folder": "changed the working folder (os.chdir)",
    "environment": "changed environment variables",
    "tracing": "set a trace or profile function (sys.settrace)",
    "import_system": "changed how Python imports (sys.path, sys.meta_path or __import__)",
    "standard_streams": "replaced sys.stdout, sys.stderr or sys.stdin",
    "rc_params": "changed matplotlib's rcParams",
}
_NAMED = re.compile(r"(replaced|added):([A-Za-z_][A-Za-z0-9_.]{0,120})")


def left_changed_note(changed: object) -> str | None:
    """What to tell a learner whose function left the process changed for later code; None if nothing.

    Read from the child's record, so untrusted: only the names above, `replaced:<dotted name>` and `added:<dotted name>` are
    shown, in the grader's words."""
    if not isinstance(changed, list):
        return None
    what = []
    imported = "imported" in changed[:9]  # modules were imported meanwhile: they may have made the change
    for item in changed[:8]:
        if not isinstance(item, str):
            continue
        if item in _CHANGED:
            what.append(_CHANGED[item])
        elif match := _NAMED.fullmatch(item):
            what.append(f"replaced or removed {match.group(2)}" if match.group(1) == "replaced" else
                        f"added an attribute to {match.group(2)}")
    if not what:
        return None
    subject = "it, or a module it imported," if imported else "it"
    return (f"After your function returned, the process was not as it found it: {subject} " + "; ".join(what) +
            " — and did not undo that. In a program, everything that runs afterwards would be affected. The "
            "grader grades each exercise in a copy of the process as your module's import left it, so this "
            "costs no other exercise a point. Undo what you change before returning: " +
            ("`with torch.no_grad():` switches gradients off for its block only." if "grad_mode" in changed else
             "a `with` block sets a mode or context for its block only."))


_SIGNATURE_PROBLEMS = {
    "missing": "a parameter is missing or named otherwise",
    "order": "the parameters are in another order",
    "default": "a parameter lacks the default the statement gives it",
    "extra": "it has a parameter the statement does not name, without a default",
}


def signature_message(exercise: Exercise, record: dict) -> str:
    """'expected cross_entropy(logits, target); yours is cross_entropy(logits, targets)' and why it matters."""
    why = _SIGNATURE_PROBLEMS.get(str(record.get("problem")), "it differs")
    return (f"Expected {exercise.signature}; yours is {record.get('yours', '?')}: {why}. The grader calls your "
            f"function with the parameters the statement names, so none of its checks could run. Use the "
            f"statement's names, order and defaults.")


def drawn(check: CheckResult) -> CheckResult:
    """The check with its pictures drawn (a check may hand one over as a function, to be drawn only if kept)."""
    if not any(callable(data) for data in check.attachments.values()):
        return check
    return dataclasses.replace(check, attachments={name: data() if callable(data) else data
                                                   for name, data in check.attachments.items()})


def say_why_unread(plan: Plan, submission: Submission, results: list[ExerciseResult]) -> list[ExerciseResult]:
    """"Not submitted" where the module is there but was passed over says why (a link, a file too large)."""
    why = {module: reason for module in {e.module for e in plan.exercises}
           if (reason := unread_module(submission, module))}
    if not why:
        return results
    return [whole_exercise(exercise, checks_of(plan, exercise), "failed", f"Not graded: {exercise.module}.py "
                           f"{why[exercise.module]}.")
            if exercise.module in why and all(c.feedback.startswith("Not submitted:") for c in result.checks)
            else result for exercise, result in zip(plan.exercises, results)]
