"""Text from a submission made safe for every format the grader writes.

A submission's file names, a learner's answers and the messages of their exceptions reach
results.json, the gradebook, Gradescope's JSON, JUnit XML and the HTML report. Any of them may
hold code points those formats cannot carry: a lone surrogate (a file name that was not UTF-8,
or `"\\udcff"` typed into an answer) cannot be encoded as UTF-8, and XML 1.0 allows no control
characters but tab, newline and carriage return. Such code points are written as visible escapes.
"""
from __future__ import annotations

import re
from typing import Any

#: Code points XML 1.0 cannot hold, even as character references.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Code points that break a line or a cell of a CSV row as spreadsheets read it.
CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _escape_surrogate(code: int) -> str:
    # U+DC80..U+DCFF is how Python holds a byte of a file name that was not UTF-8: show that byte
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def unicode_safe(text: str) -> str:
    """`text` with every lone surrogate written as an escape (`\\xff` for a byte of a non-UTF-8 file name)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(_escape_surrogate(ord(c)) if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def xml_safe(text: str) -> str:
    """`text` as XML 1.0 can hold it: lone surrogates and control characters written as escapes."""
    return XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", unicode_safe(text))


def one_line(text: str) -> str:
    """`text` as one cell of a CSV row: lone surrogates and every control character written as escapes."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                       unicode_safe(text))


def json_safe(value: Any) -> Any:
    """A JSON-able value with every string (keys too) made `unicode_safe`."""
    if isinstance(value, str):
        return unicode_safe(value)
    if isinstance(value, dict):
        return {json_safe(k) if isinstance(k, str) else k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def shown(name: str) -> str:
    """A file or submission name as a teacher should read it in a message: on one line, every control
    character and lone surrogate written as an escape (a name with a newline cannot fake a line)."""
    return one_line(name)


#: How a spreadsheet knows a formula: a cell starting with one of these is run, not shown.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """`text` as one CSV cell a spreadsheet shows and never runs: `one_line`, and a leading quote before a
    formula's first character (a submission named `=HYPERLINK(…)`)."""
    text = one_line(text)
    return "'" + text if text.startswith(FORMULA_START) else text
