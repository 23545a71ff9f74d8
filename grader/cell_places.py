"""Where a line of a module extracted from a notebook is in the notebook: the cell as Jupyter shows it.

Below both the notebook reader, which writes the markers, and the child's error encoding, which reads
them back for a traceback's frame; it imports nothing of the grader."""
from __future__ import annotations

import linecache
import re

#: The line above each cell's definitions in an extracted module (lines below it are the cell's lines).
CELL_MARK = "# notebook cell: "
MARK_LINE = re.compile(r"^# notebook cell: (?P<label>cell In \[\d+\]|code cell \d+)(?P<moved> \(lines moved\))? "
                       r"of (?P<name>.*)$")
EXTRACTED = "extracted by torchgrade from"
STUB_NOTE = "# torchgrade: the cell is not valid Python"
#: The end of the line of a stub for a function whose defining line is not run when grading.
NOT_RUN_STUB = "# torchgrade: the line that defines it is not run"
#: The lines at the end of an extracted module naming each name the notebook binds only in a statement
#: that is not run when grading: `# torchgrade not run: model: cell In [5], line 2: ...`.
NOT_RUN = "# torchgrade not run: "
#: The names, and why, that a needed statement which raised when the module was imported did not bind.
NOT_RUN_NAMES = "__torchgrade_not_run__"
#: The start of a needed statement's line: `with __torchgrade_guard__(3): ` (see grader.notebook.GUARD).
GUARD_CALL = "with __torchgrade_guard__"
GUARDED_LINE = re.compile(r"^\s*with __torchgrade_guard__\(\d+\): ")


def notebook_frame(filename: str, lineno: int, line: str) -> tuple[str, str] | None:
    """(where, the line's code) of a traceback frame in a module extracted from a notebook, else None.

    The line of a stub (for a cell that is not Python, or a line not run) is left out: the error's message
    says it all; a needed statement's line is shown without the guard it runs in."""
    place = notebook_place(filename, lineno)
    if place is None:
        return None
    return place, "" if line.rstrip().endswith((STUB_NOTE, NOT_RUN_STUB)) else GUARDED_LINE.sub("", line)


def notebook_place(filename: str, lineno: int) -> str | None:
    """`notebook.ipynb, cell In [7], line 3` for a line of a module extracted from a notebook, else None."""
    lines = linecache.getlines(filename)
    if not lines or EXTRACTED not in lines[0] or not 0 < lineno <= len(lines):
        return None
    for index in range(lineno - 1, 0, -1):
        mark = MARK_LINE.match(lines[index].rstrip("\n"))
        if mark:
            if mark["moved"]:
                return f"{mark['name']}, {mark['label']}"
            return f"{mark['name']}, {mark['label']}, line {lineno - index - 1}"
    return None


def not_run_note(exc: BaseException) -> str:
    """`: cell In [5], line 2: `_bce = BCE()` is not run when grading (why)` for a NameError on a name the
    notebook defines only in a statement left out of its extracted module, else "". Never raises."""
    try:
        return _not_run_note(exc)
    except Exception:
        return ""


def _not_run_note(exc: BaseException) -> str:
    name = getattr(exc, "name", None)
    if not isinstance(exc, NameError) or isinstance(exc, UnboundLocalError) or not isinstance(name, str):
        return ""
    trace = exc.__traceback__
    frames = []
    while trace is not None:
        frames.append(trace.tb_frame)
        trace = trace.tb_next
    for frame in reversed(frames):
        lines = linecache.getlines(frame.f_code.co_filename)
        if not lines or EXTRACTED not in lines[0]:
            continue
        raised = frame.f_globals.get(NOT_RUN_NAMES)
        if isinstance(raised, dict) and isinstance(raised.get(name), str):
            return ": " + raised[name]
        prefix = f"{NOT_RUN}{name}: "
        for line in reversed(lines):
            if not line.startswith(NOT_RUN):
                break
            if line.startswith(prefix):
                return ": " + line[len(prefix):].rstrip("\n")
        return ""
    return ""
