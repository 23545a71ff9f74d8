"""The answer probe: read one entry of the learner's ANSWERS dict (and STUDENT) as plain data.

Runs in the child. It returns the answer as str / int / float / bool / None or a list of those
(a class or function written without quotes comes back as its name); the grader reads and
judges it. Nothing the learner's objects do can reach the grader: only these plain values leave.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import torch

from grader.encode import encode_error

from .record import AnswerRecord

MAX_TEXT = 1000
MAX_ITEMS = 50
MAX_KEYS = 200


def plain_answer(value: Any, depth: int = 0) -> Any:
    """The answer as plain data; anything else as {"object": its type's name}."""
    if value is None or isinstance(value, bool):
        return None if value is None else bool(value)
    if isinstance(value, int):
        return int(value) if abs(value) < 2**63 else float(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)[:MAX_TEXT]
    if depth == 0 and isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)[:MAX_ITEMS]
        plain = [plain_answer(item, 1) for item in items]
        return sorted(plain, key=repr) if isinstance(value, (set, frozenset)) else plain
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return plain_answer(value.item(), depth)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return float(value.detach().reshape(()).cpu().item())
    name = getattr(value, "__name__", None) if isinstance(value, type) or callable(value) else None
    record = {"object": type(value).__name__[:100]}
    if isinstance(name, str):
        record["name"] = name[:MAX_TEXT]
    return record


def answer_probe(fn: Callable, call: dict[str, Any]) -> dict[str, Any]:
    """{"answer": …} for the question, or why there is none (no ANSWERS, not a dict, no entry)."""
    options = call["options"]
    module = sys.modules.get(options["module"])
    try:
        answers = getattr(module, "ANSWERS", None)
        student = getattr(module, "STUDENT", None)
        student = str.__str__(student)[:200] if isinstance(student, str) else None
        if answers is None:
            return {"no_answers": True, "student": student}
        if not isinstance(answers, dict):
            return {"not_dict": type(answers).__name__[:100], "student": student}
        question = options["question"]
        if question not in answers:
            keys = [str.__str__(k)[:100] for k in list(answers)[:MAX_KEYS] if isinstance(k, str)]
            return {"missing": True, "keys": keys, "student": student}
        return {"answer": plain_answer(answers[question]), "student": student}
    except BaseException as exc:
        return {"error": encode_error(exc, call.get("submission_dir"))}

PROBES = {"answer": answer_probe}
#: probe name → the type of the record it sends back
RECORDS = {"answer": AnswerRecord}
