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


def notebook_frame(filename: str, lineno: int, line: str) -> tuple[str, str] | None:
    """(where, the line's code) of a traceback frame in a module extracted from a notebook, else None.

    The line of a stub for a cell that is not Python is left out: the error's message says it all."""
    place = notebook_place(filename, lineno)
    if place is None:
        return None
    return place, "" if line.rstrip().endswith(STUB_NOTE) else line


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
