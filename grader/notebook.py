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

Every module gets the same source (one namespace, as in the notebook), so a function may use a
helper defined anywhere in the notebook, and each module finds its own functions by name.
"""
from __future__ import annotations

import ast
import builtins
import json
import re
from pathlib import Path
from typing import Any, Iterable

__all__ = ["NotebookError", "notebook_modules", "notebook_source"]

#: Cell magics whose body is Python, kept as such.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "python", "python3", "writefile"}
IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!]|\?|[\w.\[\]]+\?\??\s*$)")
DEF_LINE = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
SAFE_BUILTINS = {"abs", "bool", "complex", "dict", "float", "frozenset", "int", "len", "list", "max", "min",
                 "range", "round", "set", "str", "tuple"}


class NotebookError(Exception):
    """A file that cannot be read as a notebook; the message is for the student."""


def notebook_modules(path: Path, modules: list[str]) -> dict[str, str]:
    """{module name: Python source} for each of the course's modules, extracted from the notebook."""
    source = notebook_source(Path(path))
    return {module: f'"""{module}.py, extracted by torchgrade from {Path(path).name}: its imports and '
                    f'definitions only."""\n{source}' for module in modules}


def notebook_source(path: Path) -> str:
    """The definitions of every code cell, in order, as one module body (see the module doc)."""
    future: list[str] = []
    chunks: list[str] = []
    defined = set(dir(builtins))
    imported: set[str] = set()
    for number, text in _code_cells(Path(path)):
        body = _cell_definitions(number, text, defined, imported, future)
        if body.strip():
            chunks.append(f"# In[{number}]: cell {number} of {Path(path).name}\n{body}")
    head = "".join(f"{line}\n" for line in dict.fromkeys(future))
    return head + "\n\n".join(chunks) + "\n"


def _code_cells(path: Path) -> Iterable[tuple[int, str]]:
    """(cell number counted from 1 over all cells, source) of each code cell that is the student's."""
    for number, cell in enumerate(_cells(path), start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("grade") and not meta.get("solution"):
            continue  # an nbgrader test cell: the teacher's tests, not the student's code
        source = cell.get("source", cell.get("input", ""))  # "input" in format 3
        yield number, ("".join(source) if isinstance(source, list) else str(source)).replace("\r\n", "\n")


def _cells(path: Path) -> list[Any]:
    """The cells of an .ipynb file (JSON; formats 4 and 3). Read as JSON, not with nbformat, whose
    import alone costs seconds; the format is plain and documented."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"{path.name} cannot be read as a Jupyter notebook ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'no details'}). Save it again from "
                            f"Jupyter, or hand in .py modules instead.") from None
    if isinstance(data, dict) and isinstance(data.get("cells"), list):
        return data["cells"]
    if isinstance(data, dict) and isinstance(data.get("worksheets"), list):
        return [cell for sheet in data["worksheets"] if isinstance(sheet, dict) for cell in sheet.get("cells", [])]
    raise NotebookError(f"{path.name} is JSON but not a Jupyter notebook (it has no cells). Save it again from "
                        f"Jupyter, or hand in .py modules instead.")


def _cell_definitions(number: int, text: str, defined: set[str], imported: set[str], future: list[str]) -> str:
    text = _python_of(text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return _broken_cell(number, text, exc, defined)
    lines = text.split("\n")
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.append(_segment(lines, node))
            continue
        if not _keep(node, defined, imported):
            continue
        _bind(node, defined, imported)
        out.append(_segment(lines, node))
    return "\n".join(out)


def _python_of(text: str) -> str:
    """The cell without IPython syntax; a plain-Python cell is returned as it is."""
    if text.lstrip().startswith("%%"):
        first, _, body = text.lstrip().partition("\n")
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS or (magic == "writefile" and not first.rstrip().endswith(".py")):
            return ""
        text = body
    try:
        ast.parse(text)
        return text
    except SyntaxError:
        return "\n".join("" if IPYTHON_LINE.match(line) else line for line in text.split("\n"))


def _broken_cell(number: int, text: str, exc: SyntaxError, defined: set[str]) -> str:
    """Each function the cell means to define raises the cell's SyntaxError when called."""
    where = f"cell {number}, line {exc.lineno}" if exc.lineno else f"cell {number}"
    message = f"the notebook's {where} is not valid Python ({exc.msg}), so this function was not defined"
    stubs = []
    for name in dict.fromkeys(DEF_LINE.findall(text)):
        defined.add(name)
        stubs.append(f"def {name}(*args, **kwargs):\n    raise SyntaxError({message!r})\n")
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
