"""Submissions as they arrive (a folder of modules, or one notebook) → a private copy for the sandbox.

The child only ever sees the staged copy, so it can neither change the original nor find
other students' work next to it. A notebook is staged as one `<module>.py` per course module,
extracted by `grader.notebook` (definitions only; the notebook itself never runs). A folder
that holds none of the course's modules but one notebook is staged from the notebook.

Everything here reads untrusted input, so it is bounded before the work: file names are taken as
the bytes the file system holds (an unzipped Windows archive has names that are not UTF-8),
folders deeper than MAX_DEPTH are not entered, symlinks and special files are never followed or
read, and a submission with more than MAX_ENTRIES entries or MAX_TOTAL_BYTES of files is refused
with a message instead of being hashed and copied. Staging and the grading key (`grader.resume`)
read the same list of files, `submission_files`.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .text import shown

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024  # outputs (pictures) make notebooks large; only the code is read
MAX_DEPTH = 16                         # folders below this depth are not read: no module lives there
MAX_ENTRIES = 5000                     # files and folders in one submission
MAX_TOTAL_BYTES = 200 * 1024 * 1024    # of the files that are read
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".venv", "venv", "node_modules", ".pytest_cache"}
#: What `grade` writes beside the submissions' folders in DIR: no submission may be named so.
RESERVED_NAMES = frozenset({"gradebook.csv", "report.md", "report.html", "histogram.png"})
RENAMED_PREFIX = "submission-"


class SubmissionError(Exception):
    """A submission that cannot be read at all; the message is for the student."""


@dataclass(frozen=True)
class Submission:
    name: str
    path: Path
    #: the course's module names: what a notebook is split into
    modules: tuple[str, ...] = ()
    #: for the teacher, when the name is not the one on disk (a reserved output name)
    note: str = field(default="", compare=False)

    @classmethod
    def from_path(cls, path: Path, modules: Sequence[str] = ()) -> "Submission":
        path = Path(path)
        if not path.exists():
            raise SubmissionError(f"{shown(str(path))} does not exist")
        if path.is_file() and path.suffix not in (".py", ".ipynb"):
            raise SubmissionError(f"{shown(path.name)}: a submission is a folder of modules, a .py module or a "
                                  f".ipynb notebook")
        name = path.stem if path.is_file() else path.resolve().name
        safe, note = output_name(name)
        return cls(safe, path, tuple(modules), note)


def output_name(name: str) -> tuple[str, str]:
    """The name a submission's results go under in DIR, and a note for the teacher if it is not `name`.

    DIR/gradebook.csv, DIR/report.md … are the run's own files, and a folder whose name starts with a
    dot is hidden from the class report: such a submission's results go to DIR/submission-<name>."""
    if name in RESERVED_NAMES or name.startswith(".") or not name:
        renamed = RENAMED_PREFIX + name
        return renamed, (f"the submission named '{shown(name)}' collides with a file the grading writes in the "
                         f"output folder (or would be hidden there); its results are under '{shown(renamed)}'")
    return name, ""


@dataclass(frozen=True)
class SubmissionFile:
    """One regular file of a submission: its path inside it, as the file system's bytes."""

    relative: bytes
    path: Path
    size: int


def submission_files(submission: Submission) -> list[SubmissionFile]:
    """The files of a submission that staging copies and the grading key hashes, sorted by their bytes.

    Raises SubmissionError for a submission too large to read (too many entries or bytes)."""
    source = submission.path
    if source.is_file():
        return [SubmissionFile(os.fsencode(source.name), source, source.stat().st_size)]
    if not source.is_dir():
        return []
    files: list[SubmissionFile] = []
    entries = 0
    total = 0
    folders: list[tuple[bytes, Path, int]] = [(b"", source, 0)]
    while folders:
        relative, folder, depth = folders.pop()
        try:
            with os.scandir(os.fsencode(folder)) as listing:
                items = list(listing)
        except OSError:
            continue  # unreadable, or a path too long for the file system: nothing there can be staged
        for entry in items:
            entries += 1
            if entries > MAX_ENTRIES:
                raise SubmissionError(f"the submission holds more than {MAX_ENTRIES} files and folders; hand in "
                                      f"only your modules (or notebook)")
            name: bytes = entry.name  # bytes, since the folder was listed by its bytes
            inner = relative + b"/" + name if relative else name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if os.fsdecode(name) not in SKIP_DIRS and depth + 1 <= MAX_DEPTH:
                    folders.append((inner, folder / os.fsdecode(name), depth + 1))
                continue
            if passed_over(name, info) is not None:
                continue
            total += info.st_size
            if total > MAX_TOTAL_BYTES:
                raise SubmissionError(f"the submission's files add up to more than {MAX_TOTAL_BYTES // 2**20} MB; "
                                      f"hand in only your modules (or notebook), without data or outputs")
            files.append(SubmissionFile(inner, folder / os.fsdecode(name), info.st_size))
    return sorted(files, key=lambda f: f.relative)


def passed_over(name: bytes, info: os.stat_result) -> str | None:
    """Why a file of a submission is never read (the words finish "<name> …"), or None: links, pipes,
    sockets and devices are never followed or read, and a file over its size bound is not read."""
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link, which the grader never follows: hand in the file itself"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file, so it was not read"
    limit = MAX_NOTEBOOK_BYTES if name.endswith(b".ipynb") else MAX_FILE_BYTES
    if info.st_size > limit:
        return (f"is larger than {limit // 2**20} MB ({info.st_size / 2**20:.1f} MB), so it was not read: "
                f"keep data out of your modules")
    return None


def unread_module(submission: Submission, module: str) -> str | None:
    """Why `<module>.py` of a submission folder was not read, where it is there but was passed over."""
    if not submission.path.is_dir():
        return None
    try:
        info = (submission.path / f"{module}.py").lstat()
    except OSError:
        return None
    return passed_over(os.fsencode(f"{module}.py"), info)


def stage_submission(submission: Submission, target: Path, modules: Sequence[str] | None = None,
                     course: Any = None) -> Path:
    """Copy the learner's Python files into `target` (a notebook: write its modules there); return it.

    `modules` (default: the submission's) are the course's modules, needed for a notebook; `course`, the
    names it looks up (a notebook's top-level assignment runs where one of them needs it)."""
    target.mkdir(parents=True)
    source = submission.path
    modules = tuple(modules if modules is not None else submission.modules)
    notebook = notebook_of(submission, modules)
    if notebook is not None:
        return _stage_notebook(notebook, target, modules, course)
    if source.is_file():
        if source.suffix == ".py":
            shutil.copyfile(source, target / source.name)
            return target
        raise SubmissionError(f"{shown(source.name)}: a submission is a folder of modules, a .py module or a "
                              f".ipynb notebook")
    for item in submission_files(submission):
        if item.size > MAX_FILE_BYTES:
            continue  # a large notebook beside the modules: hashed, never staged
        copy = target / os.fsdecode(item.relative)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.path, copy, follow_symlinks=False)
    return target


def notebook_of(submission: Submission, modules: Sequence[str] | None = None) -> Path | None:
    """The notebook a submission is graded from, if it is one (or a folder of one notebook)."""
    source = submission.path
    modules = tuple(modules if modules is not None else submission.modules)
    return source if source.suffix == ".ipynb" and source.is_file() else _lone_notebook(source, modules)


def check_readable(submission: Submission, modules: Sequence[str] | None = None) -> None:
    """Raise SubmissionError, saying why, if the submission's notebook cannot be read as one."""
    from .notebook import NotebookError, code_cells

    notebook = notebook_of(submission, modules)
    if notebook is None:
        return
    if notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{shown(notebook.name)} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; "
                              f"clear its outputs")
    try:
        code_cells(notebook)
    except NotebookError as exc:
        raise SubmissionError(str(exc)) from None


def _lone_notebook(folder: Path, modules: tuple[str, ...]) -> Path | None:
    """The one notebook in a folder that holds none of the course's modules, if there is one."""
    if not modules or not folder.is_dir() or any((folder / f"{m}.py").is_file() for m in modules):
        return None
    notebooks = [p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink()]
    return notebooks[0] if len(notebooks) == 1 else None


def _stage_notebook(notebook: Path, target: Path, modules: tuple[str, ...], course: Any = None) -> Path:
    from .notebook import NotebookError, contract_names, notebook_modules

    if not modules:
        raise SubmissionError(f"{shown(notebook.name)}: grading a notebook needs the course's module names "
                              f"(Submission.from_path(path, modules=course.modules))")
    if notebook.stat().st_size > MAX_NOTEBOOK_BYTES:
        problem: str | None = (f"{shown(notebook.name)} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; "
                               f"clear its outputs")
    else:
        try:
            needed = contract_names(course) if course is not None else None
            sources, problem = notebook_modules(notebook, list(modules), needed), None
        except NotebookError as exc:
            problem = str(exc)
    for module in modules:
        # An unreadable notebook becomes modules that fail to import with the reason, so each
        # exercise reports it instead of the whole grading stopping.
        text = sources[module] if problem is None else f"raise ImportError({problem!r})\n"
        (target / f"{module}.py").write_text(text, encoding="utf-8", errors="backslashreplace")
    return target
