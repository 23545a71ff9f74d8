"""How a student's answer is read: letters for choices, numbers with a tolerance, text in accepted forms.

Answers arrive as plain data from the child (str, int, float, bool, None, lists of those, or
{"object": type name, "name": __name__} for a class or function written without quotes). Each
reader returns what it understood, or a sentence for the student saying why it could not.
"""
from __future__ import annotations

import hashlib
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from grader.spec.checks import LETTERS

#: Prefixes that name where a PyTorch object lives; "nn.BCELoss" and "BCELoss" are the same answer.
QUALIFIERS = ("torch.nn.functional.", "torch.nn.init.", "torch.nn.", "torch.", "nn.functional.", "nn.init.", "nn.",
              "f.", "init.")
_SEPARATORS = re.compile(r"[\s_\-\u2010-\u2015()/]+")
#: Words that name what kind of thing the answer is, not which: "Xavier initialisation" is "Xavier".
_KIND_WORDS = ("initialisation", "initialization", "init", "scheme", "method")
_LETTER_SPLIT = re.compile(r"\s*(?:,|;|/|\band\b|&|\+|\s)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """What the student's answer was read as (`value`), or why it could not be (`problem`)."""

    value: Any = None
    problem: str | None = None


def option_order(count: int, course_seed: int, question_id: str, student: str) -> list[int]:
    """The student's order of the options: letter LETTERS[i] shows the teacher's option order[i]."""
    digest = hashlib.sha256(repr((course_seed, "shuffle", question_id, student)).encode()).digest()
    order = list(range(count))
    random.Random(int.from_bytes(digest[:8], "little")).shuffle(order)
    return order


def describe(answer: Any) -> str:
    """The student's answer as they would recognise it."""
    if isinstance(answer, dict) and "object" in answer:
        name = answer.get("name")
        return f"{name} (a {answer['object']})" if name else f"a {answer['object']}"
    if isinstance(answer, str):
        return f'"{answer}"'
    return repr(answer)


def read_letters(answer: Any, count: int) -> Reading:
    """A set of letters within A… for `count` options: "B", "b)", "(B)", "A, C", "AC", ["A", "C"]."""
    valid = LETTERS[:count]
    if isinstance(answer, str):
        tokens = [t for t in _LETTER_SPLIT.split(_strip_marks(answer)) if t]
        tokens = [_strip_marks(t) for t in tokens]
        letters = [ch for token in tokens for ch in (token if _all_letters(token, valid) else [token])]
    elif isinstance(answer, list) and answer:
        letters = [_strip_marks(a) if isinstance(a, str) else a for a in answer]
    else:
        return Reading(problem=f"{describe(answer)} is not a letter: answer with the letter of an option "
                               f'({valid[0]}–{valid[-1]}), e.g. "{valid[1]}"')
    bad = [item for item in letters if not (isinstance(item, str) and len(item) == 1 and item.upper() in valid)]
    if bad or not letters:
        shown = ", ".join(describe(b) for b in bad) if bad else describe(answer)
        return Reading(problem=f"{shown} is not one of the letters {valid[0]}–{valid[-1]} of the options")
    return Reading(value=frozenset(item.upper() for item in letters))


def _all_letters(token: str, valid: str) -> bool:
    """"AC" is two letters when every character is one of the options' letters."""
    return all(ch.upper() in valid for ch in token)


def _strip_marks(text: str) -> str:
    """"(B)", "B)", "b.", "[A]" → the letters alone."""
    return text.strip().strip("()[]{}.:'\"` ").strip()


def read_number(answer: Any) -> Reading:
    """A finite number: 0.25, 1, "0.25", "2.5e-1", "1/4"."""
    if isinstance(answer, bool):
        return Reading(problem=f"{answer} is not a number")
    if isinstance(answer, (int, float)):
        value = float(answer)
    elif isinstance(answer, str):
        value = _parse_number(answer)
        if value is None:
            return Reading(problem=f'{describe(answer)} is not a number; write it as 0.25, 2.5e-3 or 1/4')
    else:
        return Reading(problem=f"{describe(answer)} is not a number; write it as 0.25, 2.5e-3 or 1/4")
    if not math.isfinite(value):
        return Reading(problem=f"{describe(answer)} is not a finite number")
    return Reading(value=value)


def _parse_number(text: str) -> float | None:
    text = text.strip().replace("\u2212", "-")
    try:
        if "/" in text:
            top, _, bottom = text.partition("/")
            return float(top) / float(bottom)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def number_matches(value: float, expected: float, rel: float, abs_: float) -> bool:
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


def read_text(answer: Any) -> Reading:
    """A non-empty text; a class or function given without quotes counts as its name."""
    if isinstance(answer, dict) and isinstance(answer.get("name"), str):
        answer = answer["name"]
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str):
        return Reading(problem=f"{describe(answer)} is not a text answer; write it in quotes, e.g. \"BCELoss\"")
    if not normal_form(answer):
        return Reading(problem="the answer is empty")
    return Reading(value=answer)


def normal_form(text: str) -> str:
    """Case, spacing, hyphens, underscores, parentheses, slashes, quotes, a trailing "()" and torch./nn./F./init.
    prefixes ignored: "Xavier (Glorot)", the course's own name for a scheme, reads as "Xavier Glorot"."""
    text = unicodedata.normalize("NFKC", text).casefold().strip().strip("'\"`.!;:,").strip()
    if text.endswith("()"):
        text = text[:-2]
    for prefix in QUALIFIERS:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return _SEPARATORS.sub("", text)


def text_matches(answer: str, accepted: list[str]) -> bool:
    return _named(answer) in {_named(form) for form in accepted}


def _named(text: str) -> str:
    """The normal form without a trailing word that only says what kind of thing is named."""
    form = normal_form(text)
    for word in _KIND_WORDS:
        if form.endswith(word) and len(form) > len(word):
            return form[:-len(word)]
    return form
