"""Submissions as they arrive (a folder of modules, or one notebook) → a private copy for the sandbox.

The child only ever sees the staged copy, so it can neither change the original nor find
other students' work next to it. A notebook is staged as one `<module>.py` per course module,
extracted by `grader.notebook` (definitions only; the notebook itself never runs). A folder
that holds none of the course's modules but one notebook is staged from the notebook.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024  # outputs (pictures) make notebooks large; only the code is read
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".venv", "venv", "node_modules", ".pytest_cache"}


class SubmissionError(Exception):
    """A submission that cannot be read at all; the message is for the student."""


@dataclass(frozen=True)
class Submission:
    name: str
    path: Path
    #: the course's module names: what a notebook is split into
    modules: tuple[str, ...] = ()

    @classmethod
    def from_path(cls, path: Path, modules: Sequence[str] = ()) -> "Submission":
        path = Path(path)
        if not path.exists():
            raise SubmissionError(f"{path} does not exist")
        if path.is_file() and path.suffix not in (".py", ".ipynb"):
            raise SubmissionError(f"{path.name}: a submission is a folder of modules, a .py module or a .ipynb notebook")
        name = path.stem if path.is_file() else path.resolve().name
        return cls(name, path, tuple(modules))


def stage_submission(submission: Submission, target: Path, modules: Sequence[str] | None = None) -> Path:
    """Copy the learner's Python files into `target` (a notebook: write its modules there); return it.

    `modules` (default: the submission's) are the course's modules, needed for a notebook."""
    target.mkdir(parents=True)
    source = submission.path
    modules = tuple(modules if modules is not None else submission.modules)
    notebook = source if source.suffix == ".ipynb" and source.is_file() else _lone_notebook(source, modules)
    if notebook is not None:
        return _stage_notebook(notebook, target, modules)
    if source.is_file():
        if source.suffix == ".py":
            shutil.copy2(source, target / source.name)
            return target
        raise SubmissionError(f"{source.name}: a submission is a folder of modules, a .py module or a .ipynb notebook")
    for item in sorted(source.rglob("*")):
        relative = item.relative_to(source)
        if any(part in SKIP_DIRS for part in relative.parts) or item.is_symlink():
            continue
        if item.is_dir():
            (target / relative).mkdir(parents=True, exist_ok=True)
        elif item.is_file() and item.stat().st_size <= MAX_FILE_BYTES:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item, target / relative)
    return target


def _lone_notebook(folder: Path, modules: tuple[str, ...]) -> Path | None:
    """The one notebook in a folder that holds none of the course's modules, if there is one."""
    if not modules or not folder.is_dir() or any((folder / f"{m}.py").is_file() for m in modules):
        return None
    notebooks = [p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink()]
    return notebooks[0] if len(notebooks) == 1 else None


def _stage_notebook(notebook: Path, target: Path, modules: tuple[str, ...]) -> Path:
    from .notebook import NotebookError, notebook_modules

    if not modules:
        raise SubmissionError(f"{notebook.name}: grading a notebook needs the course's module names "
                              f"(Submission.from_path(path, modules=course.modules))")
    if notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
        problem: str | None = f"{notebook.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; clear its outputs"
    else:
        try:
            sources, problem = notebook_modules(notebook, list(modules)), None
        except NotebookError as exc:
            problem = str(exc)
    for module in modules:
        # An unreadable notebook becomes modules that fail to import with the reason, so each
        # exercise reports it instead of the whole grading stopping.
        text = sources[module] if problem is None else f"raise ImportError({problem!r})\n"
        (target / f"{module}.py").write_text(text, encoding="utf-8")
    return target
