"""A notebook submission → the source of one Python module per course module.

A student may hand in one Jupyter notebook instead of modules. The grader never runs the
notebook; it takes what a module would hold, so importing it is quick and has no side effects:

- code cells in notebook order (as "Run All" would), the last definition of a name winning;
  nbgrader's test cells (`grade` without `solution`) are tests, not the student's code;
- of each cell, only definitions: imports, `def`, `class`, and assignments whose value is cheap
  to compute (literals, names and attributes, operators, and calls with such arguments to
  something imported: `EPS = 1e-12`, `LOG2 = math.log(2)`, `ANSWERS = {...}`, `ANSWERS |= {...}`),
  settings of something imported (`plt.rcParams["font.size"] = 12`), and `if`/`try` blocks made
  only of those; an assignment that uses a name nothing kept defines is dropped;
- an assignment that is not cheap (it calls the notebook's own code, or holds a comprehension) is
  kept where what it binds is NEEDED: a name the course looks up (each exercise's function and the
  names its signature uses, `ANSWERS`, `STUDENT`; without the course, every kept definition's name),
  and, through every definition those use, each free name of a kept function, class or lambda body,
  or of a decorator or base class. With it comes what changes that name after its last binding
  (`ANSWERS["q"] = ...`, `ANSWERS.update(...)`), as the notebook run top to bottom holds it: so
  `_bce = BCE()` used by a graded `bce_loss`, `tanh_grad = _make_grad(tanh)` or
  `ANSWERS = {q: None for q in ...}` run, while `model = train(net, epochs=100)` or
  `fig = make_figure()` that nothing graded uses do not. A needed assignment still does not run
  where it uses a name no cell above it defines, or calls `input`/`open`. It runs guarded (GUARD):
  where it raises, the import goes on, and only the names it binds are missing;
- everything else at the top level is dropped: loops that train, calls that plot or print,
  `plt.show()`, `if __name__ == "__main__":`. Inside a function everything is kept;
- a name that code which runs uses, but that the notebook binds only in a statement left out, is
  listed at the end of the module (`# torchgrade not run: name: cell, line: code (why)`): a NameError
  on it says that line was not run and why (or what it raised), in the notebook's terms; a function
  the course asks for that is bound only there becomes a function raising that NameError (not
  "defines no function");
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
import keyword
import os
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .cell_places import (CELL_MARK, EXTRACTED, GUARD_CALL, NOT_RUN, NOT_RUN_NAMES, NOT_RUN_STUB, STUB_NOTE,
                          notebook_frame, notebook_place)
from .text import shown
from .python_source import parse as parse_python

__all__ = ["NotebookError", "code_cells", "contract_names", "notebook_frame", "notebook_modules",
           "notebook_place", "notebook_source"]

#: Cell magics whose body is Python, kept as such.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "python", "python3", "writefile"}
IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!]|\?|[\w.\[\]]+\?\??\s*$)")
DEF_LINE = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
SAFE_BUILTINS = {"abs", "bool", "complex", "dict", "float", "frozenset", "int", "len", "list", "max", "min",
                 "range", "round", "set", "str", "tuple"}
#: Names every course may look up: the answers to its questions, and the student's name.
DATA_NAMES = ("ANSWERS", "STUDENT")
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
IMPORTS = (ast.Import, ast.ImportFrom)
#: Methods that add to a container: `ANSWERS.update(...)` belongs to ANSWERS as the notebook builds it.
MUTATORS = {"update", "setdefault", "append", "extend", "add", "insert"}
#: Builtins that wait for a person or read files: a top-level statement using them is not run when grading.
INTERACTIVE = {"input", "open", "breakpoint", "exit", "quit", "help"}
COMPREHENSIONS = {"listcomp", "setcomp", "dictcomp", "genexpr"}
#: Why a top-level block that binds a name is not run, by its kind.
BLOCKS = {ast.For: "top-level loops are not run; compute it in a function",
          ast.AsyncFor: "top-level loops are not run; compute it in a function",
          ast.While: "top-level loops are not run; compute it in a function",
          ast.With: "top-level `with` blocks are not run; compute it in a function",
          ast.AsyncWith: "top-level `with` blocks are not run; compute it in a function",
          ast.If: "a top-level `if` block runs only where it holds nothing but definitions",
          ast.Try: "a top-level `try` block runs only where it holds nothing but definitions",
          ast.Match: "top-level `match` blocks are not run; compute it in a function"}


#: Above the cells of a module whose needed statements run guarded: `with __torchgrade_guard__(3): x = f()`
#: runs `x = f()`; where it raises, the exception is kept out of the import (it costs only the names the
#: statement binds, not every exercise) and a NameError on those names says what it raised.
GUARD = """{names} = {{}}
__torchgrade_guarded__ = {guarded!r}


class {call}:
    def __init__(self, number):
        self.names, self.where = __torchgrade_guarded__[number]

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if not isinstance(error, Exception):
            return False
        try:
            text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        except Exception:
            text = ""
        why = f"{{self.where}} raised {{type(error).__name__}}{{': ' + text if text else ''}} when grading"
        for name in self.names:
            if name not in globals():
                {names}[name] = why
        return True
"""

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


def notebook_modules(path: Path, modules: list[str], needed: Iterable[str] | None = None) -> dict[str, str]:
    """{module name: Python source} for each of the course's modules, extracted from the notebook.

    `needed`: the names the course asks for (see `contract_names`); None: every definition the notebook
    keeps is taken to be graded."""
    source = notebook_source(Path(path), needed)
    return {module: f'"""{module}.py, {EXTRACTED} {Path(path).name}: its imports and '
                    f'definitions only."""\n{source}' for module in modules}


def contract_names(course: Any) -> tuple[str, ...]:
    """The names a course looks up in a submission: each exercise's function and the names its
    signature's defaults and annotations use (ANSWERS and STUDENT are always needed)."""
    names: list[str] = []
    for exercise in getattr(course, "exercises", ()):
        function = getattr(exercise, "function_name", "")
        if isinstance(function, str) and function.isidentifier() and not function.startswith("__"):
            names.append(function)
        try:
            signature = parse_python(f"def {exercise.signature}: pass").body[0]
        except (SyntaxError, ValueError, AttributeError, IndexError, RecursionError):
            continue
        parts = [signature.args] + ([signature.returns] if getattr(signature, "returns", None) else [])
        names += [n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)]
    return tuple(dict.fromkeys(names))


@dataclass
class _Statement:
    """A top-level statement of a cell, and what the extraction decided for it."""
    node: ast.stmt
    label: str
    lines: list[str]
    kept: bool  # kept as a definition (the rule of the module doc's second point)
    candidate: bool  # an assignment that is kept where what it binds is needed
    why: str = ""  # why it is not run, where it binds a name nothing else binds
    reads_cache: tuple[frozenset[str], frozenset[str]] | None = None
    binds_cache: frozenset[str] | None = None

    @property
    def binds(self) -> frozenset[str]:
        """The names it binds in the notebook's namespace."""
        if self.binds_cache is None:
            self.binds_cache = frozenset(_module_binds(self.node))
        return self.binds_cache

    @property
    def reads(self) -> tuple[frozenset[str], frozenset[str]]:
        """(names read when it runs, names read only when a function or lambda it defines is called)."""
        if self.reads_cache is None:
            self.reads_cache = _reads(_segment(self.lines, self.node), self.node)
        return self.reads_cache


@dataclass
class _Cell:
    label: str
    lines: list[str]
    statements: list[_Statement]
    broken: str = ""  # the stubs of a cell that is not Python
    stubs: set[str] = field(default_factory=set)


def notebook_source(path: Path, needed: Iterable[str] | None = None) -> str:
    """The definitions of every code cell, in order, as one module body (see the module doc).

    `needed`: the names the course asks for; None: every definition the notebook keeps is graded."""
    future: list[str] = []
    cells: list[_Cell] = []
    defined = set(dir(builtins))
    imported: set[str] = set()
    name = Path(path).name.replace("\n", " ")
    for label, text in _code_cells(Path(path)):
        cells.append(_read_cell(label, text, defined, imported, future))
    statements = [s for cell in cells for s in cell.statements]
    roots = set(DATA_NAMES)
    if needed is None:
        roots |= {n for s in statements if s.kept and isinstance(s.node, DEFINITIONS) for n in s.binds}
    else:
        roots |= set(needed)
    # what a kept definition uses when it is defined (a decorator, a base class) runs at import with it
    roots |= {n for s in statements if s.kept and isinstance(s.node, DEFINITIONS) for n in s.reads[0]}
    promoted = _run_checked(cells, _needed_statements(statements, roots))
    guarded: dict[int, tuple[tuple[str, ...], str]] = {}  # number → (what it binds, where it is)
    texts: dict[int, str] = {}
    for s in statements:
        if id(s) in promoted:  # its failure costs only what it binds (GUARD)
            guarded[len(guarded) + 1] = (tuple(sorted(s.binds)), _where(s))
            texts[id(s.node)] = f"{GUARD_CALL}({len(guarded)}): {_segment(s.lines, s.node)}"
    chunks = [_chunk(cell, promoted, texts, name) for cell in cells]
    notes = _notes(cells, promoted, roots)
    functions = [f for f in dict.fromkeys(needed or ()) if f.isidentifier() and not keyword.iskeyword(f)
                 and f not in DATA_NAMES]
    chunks += _stubs(functions, statements, promoted, notes, name)
    table = "".join(f"{NOT_RUN}{n}: {why}\n" for n, (_, why) in notes.items())
    head = "".join(f"{line}\n" for line in dict.fromkeys(future))
    if guarded:
        head += GUARD.format(guarded=guarded, names=NOT_RUN_NAMES, call=GUARD_CALL.split()[1]) + "\n\n"
    return head + "\n\n".join(c for c in chunks if c) + "\n" + ("\n" + table if table else "")


def _chunk(cell: _Cell, promoted: set[int], texts: dict[int, str], name: str) -> str:
    """What runs of a cell, below the line naming it ("" where nothing does)."""
    if cell.broken:
        return f"{CELL_MARK}{cell.label} (lines moved) of {name}\n{cell.broken}"
    kept = [s.node for s in cell.statements if s.kept or id(s) in promoted]
    in_place = _on_their_lines(cell.lines, kept, texts)
    body = in_place if in_place is not None else "\n".join(texts.get(id(node)) or _segment(cell.lines, node)
                                                           for node in kept)
    if not body.strip():
        return ""
    return f"{CELL_MARK}{cell.label}{'' if in_place is not None else ' (lines moved)'} of {name}\n{body}"


def _notes(cells: list[_Cell], promoted: set[int], roots: set[str]) -> dict[str, tuple[str, str]]:
    """{name: (its cell, why it is not defined)} for each name that code which runs uses (or the course asks
    for) but only statements that do not run bind, the last of them winning."""
    statements = [s for cell in cells for s in cell.statements]
    run = [s for s in statements if s.kept or id(s) in promoted]
    bound = {n for s in run for n in s.binds} | {n for cell in cells for n in cell.stubs}
    used = set(roots).union(*(s.reads[0] | s.reads[1] for s in run if not isinstance(s.node, IMPORTS)))
    notes: dict[str, tuple[str, str]] = {}
    for s in statements:
        if not (s.kept or id(s) in promoted):
            for bound_name in sorted((s.binds & used) - bound):
                notes[bound_name] = (s.label, _not_run(s))
    return notes


def _stubs(functions: list[str], statements: list[_Statement], promoted: set[int],
           notes: dict[str, tuple[str, str]], name: str) -> list[str]:
    """For each function the course asks for that only a statement which does not run binds (or one that
    may raise), a function raising a NameError that says which line and why, under its cell's name."""
    last_run = {n: s for s in statements if id(s) in promoted for n in s.binds}
    out = []
    for function in functions:
        if function in notes:
            label, why = notes[function]
            out.append(f"{CELL_MARK}{label} (lines moved) of {name}\ndef {function}(*args, **kwargs):\n"
                       f"    raise NameError({f'{function} is not defined: {why}'!r})  {NOT_RUN_STUB}\n")
        elif function in last_run:
            out.append(f"{CELL_MARK}{last_run[function].label} (lines moved) of {name}\n"
                       f"if {function!r} not in globals():\n    def {function}(*args, **kwargs):\n"
                       f"        raise NameError({function!r} + ' is not defined: ' + "
                       f"{NOT_RUN_NAMES}.get({function!r}, 'its cell did not run'))  {NOT_RUN_STUB}\n")
    return out


def _read_cell(label: str, text: str, defined: set[str], imported: set[str], future: list[str]) -> _Cell:
    """The cell's top-level statements, each marked kept or not by the definitions rule."""
    try:
        text = _python_of(text)
        tree = parse_python(text)
    except SyntaxError as exc:
        return _broken(label, text, exc, defined)
    except (RecursionError, MemoryError):
        return _broken(label, text, SyntaxError("too deeply nested for the grader to read"), defined)
    lines = text.split("\n")
    out: list[_Statement] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.append(_segment(lines, node))
            continue
        try:
            keep = _keep(node, defined, imported)
        except RecursionError:  # an expression nested deeper than the reader goes: not a cheap definition
            keep = False
        if keep:
            _bind(node, defined, imported)
        try:
            candidate = not keep and _is_candidate(node)
        except RecursionError:
            candidate = False
        out.append(_Statement(node, label, lines, keep, candidate))
    return _Cell(label, lines, out)


def _broken(label: str, text: str, exc: SyntaxError, defined: set[str]) -> _Cell:
    before = set(defined)
    body = _broken_cell(label, text, exc, defined)
    return _Cell(label, [], [], broken=body, stubs=defined - before)


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


def _on_their_lines(lines: list[str], kept: list[ast.stmt], texts: dict[int, str] | None = None) -> str | None:
    """The kept statements, each on its own lines of the cell (dropped ones left blank); None where that
    is not valid Python (two statements that shared a line in a way `;` cannot join). `texts`: the text of
    a statement (by id) written otherwise than as in the cell."""
    if not kept:
        return ""
    out = [""] * max(node.end_lineno or node.lineno for node in kept)
    for node in kept:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = (texts or {}).get(id(node)) or _segment(lines, node)
        for offset, line in enumerate(text.split("\n")):
            index = start - 1 + offset
            out[index] = f"{out[index]}; {line}" if out[index].strip() else line
    text = "\n".join(out)
    try:
        parse_python(text)
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
        parse_python(text)
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
    if isinstance(node, ast.AugAssign):  # `ANSWERS |= {"q": "B"}`: added to what the notebook defined
        target = node.target
        own = isinstance(target, ast.Name) and target.id in defined and not hasattr(builtins, target.id)
        return (own or _is_entry(target, defined)) and _cheap(node.value, defined, imported)
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


def _is_candidate(node: ast.stmt) -> bool:
    """An assignment (or an addition to a container) that runs where what it binds is needed."""
    if isinstance(node, ast.Assign):
        return all(_assignable(t) for t in node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return node.value is not None and _assignable(node.target)
    if isinstance(node, ast.Expr):
        call = node.value
        return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
            call.func.attr in MUTATORS and isinstance(call.func.value, ast.Name)
    return False


def _assignable(target: ast.expr) -> bool:
    if isinstance(target, ast.Starred):
        return _assignable(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_assignable(e) for e in target.elts)
    return isinstance(target, ast.Name) or _root(target) is not None


def _root(target: ast.expr) -> str | None:
    """`ANSWERS` of `ANSWERS["q"]` or of `net.layer.weight`: the name whose value the statement changes."""
    root = target
    while isinstance(root, (ast.Attribute, ast.Subscript)):
        root = root.value
    return root.id if root is not target and isinstance(root, ast.Name) else None


def _mutated(node: ast.stmt) -> set[str]:
    """The names whose values a statement changes without binding them anew."""
    if isinstance(node, ast.Assign):
        targets = [e for t in node.targets for e in ast.walk(t) if isinstance(e, (ast.Attribute, ast.Subscript))]
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        targets = [node.value.func]
    else:
        return set()
    out = {_root(t) for t in targets} - {None}
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        out.add(node.target.id)
    return out  # type: ignore[return-value]


def _module_binds(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds in the notebook's namespace."""
    out: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, DEFINITIONS):
            out.add(item.name)
            continue
        if isinstance(item, (ast.Import, ast.ImportFrom)):
            out.update(a.asname or a.name.split(".")[0] for a in item.names if a.name != "*")
            continue
        if isinstance(item, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
            out.add(item.id)
        elif isinstance(item, ast.ExceptHandler) and item.name:
            out.add(item.name)
        stack.extend(ast.iter_child_nodes(item))
    return out


def _reads(text: str, node: ast.stmt) -> tuple[frozenset[str], frozenset[str]]:
    """(the notebook's names a statement reads when it runs, those read only when a function or lambda
    it defines is called): the free names of its scopes, as Python resolves them."""
    try:
        table = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # e.g. a top-level `await`: read it all now
        return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name)), frozenset()
    now = {sym.get_name() for sym in table.get_symbols() if sym.is_referenced()}
    later: set[str] = set()
    stack = [(child, False) for child in table.get_children()]
    while stack:
        scope, deferred = stack.pop()
        deferred = deferred or (scope.get_type() == "function" and scope.get_name() not in COMPREHENSIONS)
        (later if deferred else now).update(sym.get_name() for sym in scope.get_symbols() if sym.is_global())
        stack.extend((child, deferred) for child in scope.get_children())
    return frozenset(now), frozenset(later)


def _needed_statements(statements: list[_Statement], roots: set[str]) -> set[int]:
    """The candidates (by id) that define what the roots need, through every definition they use: for
    each needed name, its last binding and what changes it after, as the notebook run top to bottom holds it."""
    entries: dict[str, list[tuple[_Statement, bool]]] = {}
    for statement in statements:
        if not (statement.kept or statement.candidate):
            continue
        binds, changes = statement.binds, _mutated(statement.node)
        for name in sorted(binds | changes):
            entries.setdefault(name, []).append((statement, name in binds and name not in changes))
    promoted: set[int] = set()
    seen: set[str] = set()
    visited: set[int] = set()
    work = sorted(roots)
    while work:
        name = work.pop()
        if name in seen:
            continue
        seen.add(name)
        found = entries.get(name, [])
        start = max((i for i, (_, full) in enumerate(found) if full), default=0)
        for statement, _ in found[start:]:
            if id(statement) in visited:
                continue
            visited.add(id(statement))
            if statement.candidate:
                promoted.add(id(statement))
            now, later = statement.reads
            work += sorted((now | later) - seen)
    return promoted


def _run_checked(cells: list[_Cell], promoted: set[int]) -> set[int]:
    """The needed candidates whose values use only names defined above them (as the extracted module runs);
    the others are not run, and say why."""
    bound = set(dir(builtins))
    star = False
    out: set[int] = set()
    for cell in cells:
        bound |= cell.stubs
        for statement in cell.statements:
            if statement.kept:
                bound |= statement.binds
                star = star or (isinstance(statement.node, ast.ImportFrom)
                                and any(a.name == "*" for a in statement.node.names))
            elif id(statement) in promoted:
                missing = sorted(statement.reads[0] - bound)
                interactive = sorted(statement.reads[0] & INTERACTIVE)
                if interactive:
                    statement.why = f"it calls `{interactive[0]}`, which grading does not run"
                    continue
                if missing and not star:
                    statement.why = f"it uses `{missing[0]}`, which no cell above it defines when grading"
                    continue
                if not _compiles(_segment(statement.lines, statement.node)):
                    statement.why = "it is not valid Python outside a cell (`await`, `yield`)"
                    continue
                bound |= statement.binds
                out.add(id(statement))
    return out


def _where(statement: _Statement) -> str:
    """`cell In [5], line 2: `x = f()``, on one line."""
    first = _segment(statement.lines, statement.node).split("\n")
    code = shown(first[0].strip())
    code = code if len(code) <= 80 and len(first) == 1 else f"{code[:80]} …"
    return f"{statement.label}, line {statement.node.lineno}: `{code}`"


def _not_run(statement: _Statement) -> str:
    """`cell In [5], line 2: `x = f()` is not run when grading (why)`, on one line."""
    if statement.why:
        why = statement.why
    elif statement.candidate:
        why = "top-level statements that call your own code run only if a graded function needs them"
    else:
        node = statement.node
        if isinstance(node, ast.If) and "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}:
            why = "an `if __name__ == \"__main__\":` block is not run when grading"
        else:
            why = BLOCKS.get(type(statement.node), "only definitions run at the top level")
    return f"{_where(statement)} is not run when grading ({why})"


def _compiles(text: str) -> bool:
    """Whether a statement compiles as a module's (a top-level `await` parses, but does not compile)."""
    try:
        compile(text, "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
