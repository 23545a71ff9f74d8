"""What every check kind shares: preparing calls and expectations, and judging case by case.

A kind prepares once per course (cases, the calls the child must make, expected values computed
here with the reference), then judges each submission's plain results against those
expectations. Nothing here ever imports learner code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from ..calls import Call, RecordedError
from ..cases import Case
from ..spec import Course, Exercise
from ..spec.checks import CheckBase
from ..spec.models import HintKey
from ..python_source import parse as parse_python


@dataclass(frozen=True)
class Context:
    """What preparing a check may depend on besides the spec."""

    course: Course
    cuda: bool = False
    feedback_dir: Path | None = None  # where a check may write pictures for a learner
    hidden: bool = False  # a teacher's grading (hidden checks included), not a student's self-check


@dataclass(frozen=True)
class CaseVerdict:
    case_id: str
    label: str
    passed: bool
    message: str = ""
    #: the situation that failed, which picks the exercise's hint for it (spec.models.HINT_KEYS)
    hint_key: HintKey | None = None
    #: files for the learner to look at (e.g. their plot beside the reference's), name → bytes, or a
    #: function returning them (drawn only if the picture is kept: class grading keeps none for passing
    #: checks, see run.grade_submission); written to OUT/<submission>/feedback/ and named in the feedback
    #: by the check itself. A passing case's message, if any, only points at its pictures.
    attachments: dict[str, bytes | Callable[[], bytes]] = field(default_factory=dict, compare=False)


@dataclass
class Prepared:
    """A check ready to run: the calls for the child and, per call key, what to expect."""

    exercise: Exercise
    check: CheckBase
    cases: list[Case]
    calls: list[Call]
    expected: dict[str, Any] = field(default_factory=dict)


class Kind(Protocol):
    def prepare(self, ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared: ...

    def judge_case(self, prepared: Prepared, case: Case, result: dict[str, Any]) -> CaseVerdict: ...


def call_key(check: CheckBase, case: Case) -> str:
    return f"{check.label}/{case.id}"


def make_call(exercise: Exercise, check: CheckBase, case: Case, probe: str,
              args: dict | None = None, **options: Any) -> Call:
    """A call for the child: positional tensors in signature order, keywords by name."""
    args = case.args if args is None else args
    order = signature_order(exercise)
    names = sorted(args, key=lambda n: order.index(n) if n in order else len(order))
    call = new_call(call_key(check, case), probe, arg_names=names, args=[args[n] for n in names],
                    kwargs=case.kwargs, device=case.device, options=options)
    if case.strided:
        call["strided"] = True
    return call


def new_call(key: str, probe: str, *, arg_names: list[str] | None = None, args: list[Any] | None = None,
             kwargs: dict[str, Any] | None = None, device: str = "cpu", options: dict[str, Any] | None = None) -> Call:
    """A call for the child whose arguments a kind chooses itself (no case tensors: a plot's function, keywords only)."""
    return Call(key=key, probe=probe, arg_names=list(arg_names or []), args=list(args or []),
                kwargs=dict(kwargs or {}), device=device, options=dict(options or {}))


def signature_order(exercise: Exercise) -> list[str]:
    func = parse_python(f"def {exercise.signature}:\n    pass\n").body[0]
    a = func.args  # type: ignore[attr-defined]
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]


def learner_error(result: Mapping[str, Any]) -> str:
    """'ZeroDivisionError: … (activations.py, line 12, in sigmoid: `return 1 / x`)'."""
    error: RecordedError = result["error"]
    text = f"{error['type']}: {error['message']}".strip().rstrip(":")
    if error.get("where"):
        text += f"\n    at {error['where']}"
        if error.get("line"):
            text += f": {error['line']}"
    elif error.get("outside"):
        text += "\n    (raised outside your code, while the grader called your function or read what it returned)"
    lowered = (error["type"] + error["message"]).lower()
    if "can't allocate memory" in lowered or error["type"] == "MemoryError":
        text += "\n    Your function used more memory than the limit allows."
    return text


def error_verdict(case: Case, result: Mapping[str, Any]) -> CaseVerdict:
    return CaseVerdict(case.id, case.label, False, unsaved_words(result) or f"Your function raised "
                       f"{learner_error(result)}", "error")


def unsaved_words(result: Mapping[str, Any]) -> str | None:
    """Where the child could not send back what the function returned (nothing raised): saying so, else None.
    The flag is the child's, so a learner can set it; it changes only that case's words."""
    error = result.get("error")
    if not isinstance(error, dict) or error.get("unsaved") is not True or not isinstance(error.get("message"), str):
        return None
    words = error["message"].strip()
    return f"Your function returned, but {words[0].lower() + words[1:] if words else 'its result could not be read'}."


def ordered_args(exercise: Exercise, case: Case) -> list[Any]:
    """The case's tensors in the signature's order, for calling the reference here."""
    order = signature_order(exercise)
    return [case.args[n] for n in sorted(case.args, key=lambda n: order.index(n) if n in order else len(order))]


def for_this_machine(ctx: Context, cases: list[Case]) -> list[Case]:
    """CUDA cases run where CUDA is; elsewhere the CPU cases carry the check's points alone."""
    return [case for case in cases if case.device != "cuda" or ctx.cuda]


class SpecProblem(Exception):
    """The exercise itself is wrong (e.g. the reference raises on a case): for the teacher."""


def unrecorded_verdict(case: Any, result: Mapping[str, Any], tampered: str) -> CaseVerdict:
    """The end of a forbid-style judgement once no forbidden call was seen: the function must have
    run (else its calls prove nothing), and the recorder must still have been in place."""
    if "error" in result:
        verdict = error_verdict(case, result)
        return CaseVerdict(case.id, case.label, False,
                           verdict.message + "\nIt must run before it can be checked for forbidden calls.", "error")
    if result.get("recorder_intact") is not True:  # no word from the recorder is no proof that it stayed
        return CaseVerdict(case.id, case.label, False, tampered, "forbid")
    return CaseVerdict(case.id, case.label, True)
