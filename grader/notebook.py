"""A notebook submission → the source of one Python module per course module.

A student may hand in one Jupyter notebook instead of modules. The grader never runs the
notebook; it takes what a module would hold, so importing it is quick and has no side effects:

- code cells in notebook order (as "Run All" would), the last definition of a name winning;
  nbgrader's test cells (`grade` without `solution`) are tests, not the student's code;
- of each cell, only definitions: imports, `def`, `class`, and assignments whose value is cheap
  to compute (literals, names and attributes, operators, and calls with such arguments to
  something imported: `EPS = 1e-12`, `LOG2 = math.log(2)`, `ANSWERS = {...}`), settings of
  something imported (`plt.rcParams["font.size"] = 12`), and `if`/`try` blocks made only of
  those; an assignment that uses a name nothing kept defines is dropped;
- everything else at the top level is dropped: loops that train, calls that plot or print,
  `plt.show()`, `if __name__ == "__main__":`. Inside a function everything is kept;
- IPython syntax (`%matplotlib inline`, `!pip install …`, `x = !ls`, `obj?`) is dropped from a
  cell that is not plain Python; a cell magic (`%%time`, `%%capture`, `%%writefile f.py`) keeps
  its Python body, other cell magics (`%%bash`) the whole cell;
- a cell that still is not Python costs only the functions it defines: each becomes a function
  that raises SyntaxError naming the cell and the line, so the feedback points at it.

Cells are named as Jupyter shows them: `cell In [7]` by their execution count, or `code cell 4`
(their position among the code cells) where they never ran. What is kept of a cell stays on its
cell's lines, below a marker line naming the cell, so `notebook_place` turns a line of the
extracted module back into the cell and the line within it that a student sees.

Every module gets the same source (one namespace, as in the notebook), so a function may use a
helper defined anywhere in the notebook, and each module finds its own functions by name.

The file is untrusted input, read in the grader's own process, so it is bounded before the work and
checked before it is read: at most MAX_JSON_VALUES values in its JSON (what parsing it costs in
memory), the shape of everything the reader reads checked against the notebook format (nbformat
refuses every notebook refused here), a code cell of more than MAX_CELL_CHARS or a notebook of more
than MAX_CODE_CHARS of code read no further (its functions raise, naming the cell), and a cell too
deeply nested to parse costs only that cell.
"""
from __future__ import annotations

import ast
import builtins
import functools
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from .cell_places import CELL_MARK, EXTRACTED, STUB_NOTE, notebook_frame, notebook_place
from .text import shown

__all__ = ["NotebookError", "code_cells", "notebook_frame", "notebook_modules", "notebook_place",
           "notebook_source"]

#: Cell magics whose body is Python, kept as such.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "python", "python3", "writefile"}
IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!]|\?|[\w.\[\]]+\?\??\s*$)")
DEF_LINE = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
SAFE_BUILTINS = {"abs", "bool", "complex", "dict", "float", "frozenset", "int", "len", "list", "max", "min",
                 "range", "round", "set", "str", "tuple"}


#: Values (containers, strings, numbers) a notebook's JSON may hold: parsing each costs 50–150 bytes (a key
#: and its value are one value here, two objects there), so this bounds what reading a notebook costs in
#: memory (about 250 MB at most, benchmarks/grader_memory.py) whatever its 50 MB hold. Notebooks saved by
#: Jupyter hold far fewer: pictures are one string each, printed text one string per line.
MAX_JSON_VALUES = 2_000_000
#: Code in one cell, and in the whole notebook: parsing 100 000 characters of code takes up to ~50 MB.
MAX_CELL_CHARS = 100_000
MAX_CODE_CHARS = 1_000_000


class NotebookError(Exception):
    """A file that cannot be read as a notebook; the message is for the student."""


def notebook_modules(path: Path, modules: list[str]) -> dict[str, str]:
    """{module name: Python source} for each of the course's modules, extracted from the notebook."""
    source = notebook_source(Path(path))
    return {module: f'"""{module}.py, {EXTRACTED} {Path(path).name}: its imports and '
                    f'definitions only."""\n{source}' for module in modules}


def notebook_source(path: Path) -> str:
    """The definitions of every code cell, in order, as one module body (see the module doc)."""
    future: list[str] = []
    chunks: list[str] = []
    defined = set(dir(builtins))
    imported: set[str] = set()
    name = Path(path).name.replace("\n", " ")
    for label, text in _code_cells(Path(path)):
        body, in_place = _cell_definitions(label, text, defined, imported, future)
        if body.strip():
            chunks.append(f"{CELL_MARK}{label}{'' if in_place else ' (lines moved)'} of {name}\n{body}")
    head = "".join(f"{line}\n" for line in dict.fromkeys(future))
    return head + "\n\n".join(chunks) + "\n"


def _code_cells(path: Path) -> Iterable[tuple[str, str]]:
    """(the cell's name as Jupyter shows it, source) of each code cell that is the student's."""
    return code_cells(Path(path))


def code_cells(path: Path) -> tuple[tuple[str, str], ...]:
    """The student's code cells of a notebook, checked (see the module doc); raises NotebookError."""
    info = os.stat(path)
    return _read_code_cells(str(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=8)  # checked before staging, then read by it: the file is parsed once
def _read_code_cells(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, str], ...]:
    name = shown(Path(path).name)
    out = []
    code = 0
    position = 0  # among code cells, as Jupyter counts them: markdown cells are not counted
    for number, cell in enumerate(_cells(Path(path)), start=1):
        where = f"{name}: the notebook's cell {number}"
        if not isinstance(cell, dict):
            raise _refused(f"{where} is {_kind(cell)}, not an object")
        cell_type = cell.get("cell_type")
        if not isinstance(cell_type, str):
            raise _refused(f"{where} has a cell_type that is {_kind(cell_type)}, not a string")
        if cell_type != "code":
            continue
        position += 1
        metadata = cell.get("metadata", {})
        if not isinstance(metadata, dict):
            raise _refused(f"{where} has metadata that is {_kind(metadata)}, not an object")
        meta = metadata.get("nbgrader")
        meta = meta if isinstance(meta, dict) else {}  # nbformat leaves it free; not nbgrader's, then
        if meta.get("grade") and not meta.get("solution"):
            continue  # an nbgrader test cell: the teacher's tests, not the student's code
        source = cell.get("source", cell.get("input", ""))  # "input" in format 3
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise _refused(f"{where} has a source that is {_kind(source)}, not text or a list of lines")
        # a lone surrogate ("\udcff" in the JSON) cannot be compiled: written as its escape, which in a string
        # literal (an answer) is the same character again
        source = source.replace("\r\n", "\n").encode("utf-8", "backslashreplace").decode("utf-8")
        label = _label(cell, position)
        if len(source) > MAX_CELL_CHARS:
            source = _unread_cell(label, source, f"it holds more than {MAX_CELL_CHARS:,} characters of code")
        elif code + len(source) > MAX_CODE_CHARS:
            source = _unread_cell(label, source, f"the notebook holds more than {MAX_CODE_CHARS:,} characters "
                                                  f"of code before its end")
        code += len(source)
        out.append((label, source))
    return tuple(out)


def _unread_cell(label: str, source: str, why: str) -> str:
    """A cell the grader does not parse: each function it means to define raises, saying why."""
    message = f"the notebook's {label} was not read ({why}), so this function was not defined"
    return "\n\n".join(f"def {name}(*args, **kwargs):\n    raise SyntaxError({message!r})\n"
                        for name in dict.fromkeys(DEF_LINE.findall(source)))


def _refused(problem: str) -> NotebookError:
    return NotebookError(f"{problem}; nbformat would refuse it too. Save the notebook again from Jupyter, or "
                         f"hand in .py modules instead.")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        items = {type(v).__name__ for v in value}
        return f"a list (of {', '.join(sorted(items))})" if items else "an empty list"
    return {dict: "an object", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _label(cell: dict[str, Any], position: int) -> str:
    """`cell In [7]` (its execution count, as Jupyter shows it), or `code cell 4` where it never ran."""
    count = cell.get("execution_count", cell.get("prompt_number"))  # "prompt_number" in format 3
    if isinstance(count, int) and not isinstance(count, bool) and 0 < count < 10**9:
        return f"cell In [{count}]"
    return f"code cell {position}"


def _cells(path: Path) -> list[Any]:
    """The cells of an .ipynb file (JSON; formats 4 and 3). Read as JSON, not with nbformat, whose
    import alone costs seconds; the format is plain and documented."""
    name = shown(path.name)
    try:
        raw = path.read_bytes()
        values = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
        if values > MAX_JSON_VALUES:
            raise NotebookError(f"{name} holds more than {MAX_JSON_VALUES:,} values; Jupyter writes no notebook "
                                f"like it. Clear its outputs and save it again, or hand in .py modules instead.")
        text = raw.decode("utf-8")
        del raw  # the bytes, the text and the parsed values are never all held at once
        data = json.loads(text)
        del text
    except NotebookError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotebookError(f"{name} cannot be read as a Jupyter notebook ({type(exc).__name__}: "
                            f"{shown(str(exc).splitlines()[0]) if str(exc) else 'no details'}). Save it again "
                            f"from Jupyter, or hand in .py modules instead.") from None
    if isinstance(data, dict) and isinstance(data.get("cells"), list):
        return data["cells"]
    if isinstance(data, dict) and isinstance(data.get("worksheets"), list):
        cells: list[Any] = []
        for sheet in data["worksheets"]:
            inner = sheet.get("cells", []) if isinstance(sheet, dict) else None
            if not isinstance(inner, list):
                raise _refused(f"{name}: a worksheet of the notebook is not an object with a list of cells")
            cells += inner
        return cells
    raise NotebookError(f"{name} is JSON but not a Jupyter notebook (it has no cells). Save it again from "
                        f"Jupyter, or hand in .py modules instead.")


def _cell_definitions(label: str, text: str, defined: set[str], imported: set[str],
                      future: list[str]) -> tuple[str, bool]:
    """What is kept of the cell, and whether each kept line stayed on its line of the cell."""
    try:
        text = _python_of(text)
        tree = ast.parse(text)
    except SyntaxError as exc:
        return _broken_cell(label, text, exc, defined), False
    except (RecursionError, MemoryError):
        return _broken_cell(label, text, SyntaxError("too deeply nested for the grader to read"), defined), False
    lines = text.split("\n")
    kept: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.append(_segment(lines, node))
            continue
        try:
            keep = _keep(node, defined, imported)
        except RecursionError:  # an expression nested deeper than the reader goes: not a cheap definition
            keep = False
        if not keep:
            continue
        _bind(node, defined, imported)
        kept.append(node)
    in_place = _on_their_lines(lines, kept)
    if in_place is not None:
        return in_place, True
    return "\n".join(_segment(lines, node) for node in kept), False


def _on_their_lines(lines: list[str], kept: list[ast.stmt]) -> str | None:
    """The kept statements, each on its own lines of the cell (dropped ones left blank); None where that
    is not valid Python (two statements that shared a line in a way `;` cannot join)."""
    if not kept:
        return ""
    out = [""] * max(node.end_lineno or node.lineno for node in kept)
    for node in kept:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        for offset, line in enumerate(_segment(lines, node).split("\n")):
            index = start - 1 + offset
            out[index] = f"{out[index]}; {line}" if out[index].strip() else line
    text = "\n".join(out)
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    return text


def _python_of(text: str) -> str:
    """The cell without IPython syntax; a plain-Python cell is returned as it is."""
    if text.lstrip().startswith("%%"):
        stripped = text.lstrip()
        first, _, body = stripped.partition("\n")
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS or (magic == "writefile" and not first.rstrip().endswith(".py")):
            return ""
        text = "\n" * (text[:len(text) - len(stripped)].count("\n") + 1) + body  # the body keeps its cell lines
    try:
        ast.parse(text)
        return text
    except (SyntaxError, RecursionError, MemoryError):
        return "\n".join("" if IPYTHON_LINE.match(line) else line for line in text.split("\n"))


def _broken_cell(label: str, text: str, exc: SyntaxError, defined: set[str]) -> str:
    """Each function the cell means to define raises the cell's SyntaxError when called."""
    where = f"{label}, line {exc.lineno}" if exc.lineno else label
    message = f"the notebook's {where} is not valid Python ({exc.msg}), so this function was not defined"
    stubs = []
    for name in dict.fromkeys(DEF_LINE.findall(text)):
        defined.add(name)
        stubs.append(f"def {name}(*args, **kwargs):\n    raise SyntaxError({message!r})  {STUB_NOTE}\n")
    return "\n\n".join(stubs)


def _keep(node: ast.stmt, defined: set[str], imported: set[str]) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        return all(_is_name_target(t) or _is_setting(t, imported) or _is_entry(t, defined) for t in node.targets) \
            and _cheap(node.value, defined, imported)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and (node.value is None or _cheap(node.value, defined, imported))
    if isinstance(node, ast.If):
        if "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}:
            return False
        return _cheap(node.test, defined, imported) and _all_kept(node.body + node.orelse, defined, imported)
    if isinstance(node, ast.Try):
        handlers = [s for h in node.handlers for s in h.body]
        return _all_kept(node.body + handlers + node.orelse + node.finalbody, defined, imported)
    if isinstance(node, ast.Expr):
        return _is_update(node.value, defined, imported)
    return False


def _all_kept(body: list[ast.stmt], defined: set[str], imported: set[str]) -> bool:
    names, modules = set(defined), set(imported)
    for node in body:
        if isinstance(node, ast.Pass):
            continue
        if not _keep(node, names, modules):
            return False
        _bind(node, names, modules)
    return True


def _is_name_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(_is_name_target(e) for e in target.elts)


def _is_setting(target: ast.expr, imported: set[str]) -> bool:
    """`plt.rcParams["font.size"] = 12`, `torch.backends.cudnn.benchmark = False`: configuring an import."""
    root = target
    while isinstance(root, (ast.Attribute, ast.Subscript)):
        root = root.value
    return root is not target and isinstance(root, ast.Name) and root.id in imported and all(
        isinstance(s.slice, ast.Constant) for s in ast.walk(target) if isinstance(s, ast.Subscript))


def _is_entry(target: ast.expr, defined: set[str]) -> bool:
    """`ANSWERS["dead_relu"] = "B"`: an entry of a name the notebook defined, under a constant key, as
    the notebook run top to bottom holds it (a dict built over several cells)."""
    return isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and \
        target.value.id in defined and isinstance(target.slice, ast.Constant)


def _is_update(call: ast.expr, defined: set[str], imported: set[str]) -> bool:
    """`ANSWERS.update({"dead_relu": "B"})`: entries added to a dict the notebook defined, from cheap values,
    as the notebook run top to bottom holds them."""
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "update" \
        and isinstance(call.func.value, ast.Name) and call.func.value.id in defined \
        and all(_cheap(a, defined, imported) for a in call.args) \
        and all(_cheap(k.value, defined, imported) for k in call.keywords)


def _cheap(node: ast.expr, defined: set[str], imported: set[str]) -> bool:
    """Built from literals, known names, attributes, operators and calls to imported things."""
    if isinstance(node, ast.Lambda):
        return True  # its body runs only when called
    if isinstance(node, ast.Name):
        return node.id in defined
    if isinstance(node, ast.Call):
        root = node.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        allowed = root.id in imported or (root.id in SAFE_BUILTINS and root is node.func)
        return allowed and all(_cheap(a, defined, imported) for a in node.args) and all(
            _cheap(k.value, defined, imported) for k in node.keywords)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Await, ast.Yield,
                         ast.YieldFrom, ast.NamedExpr)):
        return False
    return all(_cheap(child, defined, imported) for child in ast.iter_child_nodes(node)
               if isinstance(child, ast.expr))


def _bind(node: ast.stmt, defined: set[str], imported: set[str]) -> None:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            defined.add(name)
            imported.add(name)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        defined.add(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            defined.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, (ast.If, ast.Try)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                _bind(child, defined, imported)
            elif isinstance(child, ast.ExceptHandler):
                for stmt in child.body:
                    _bind(stmt, defined, imported)


def _segment(lines: list[str], node: Any) -> str:
    """The statement's source, decorators included."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    col = node.col_offset if start == node.lineno else 0
    end, end_col = node.end_lineno, node.end_col_offset
    if start == end:
        return lines[start - 1][col:end_col]
    return "\n".join([lines[start - 1][col:]] + lines[start:end - 1] + [lines[end - 1][:end_col]])
