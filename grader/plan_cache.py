"""Reuse a built Plan across runs: `torchgrade check` then costs a file read, not 2–3 s of reference work.

`load_or_build` keys a plan by everything that changes it — the course's files and where the
course lies, hidden or public, the exercise selection, CUDA, and the versions of torchgrade (its
source files too), torch, numpy, matplotlib and Python — and keeps it in `plans/` of the grader's
private cache folder (sandbox/private_cache.py). Entries are written atomically; the newest KEEP are kept. An entry that is
unreadable, corrupt or built under another key is ignored and rebuilt: the cache never fails a run.
`--no-cache` or TORCHGRADE_NO_PLAN_CACHE=1 bypasses it.

Entries are pickles. That is acceptable for the grader's own cache in a 0700 folder it owns (whoever
can write there can already run code as this user); an entry whose folder or file belongs to someone
else, or whose folder the sandboxed children could read, is never used: the
plan holds the reference's expected values, hidden checks' included. Children read only the copy of
the plan's workdir files (tasks.pt) that a load writes into a fresh workdir.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import torch

from .probes.lazy_dynamo import defer_dynamo
from .resume import course_key
from .plan import Plan, build_plan, cuda_available
from .sandbox import private_cache
from .spec import Course

FORMAT = 1
MAGIC = b"torchgrade plan cache %d\n" % FORMAT
KEEP = 8
SUFFIX = ".plan"


class Uncacheable(Exception):
    """The plan holds something that cannot come back in another process (e.g. a reference module's object)."""


def cache_dir() -> Path:
    """Where plans are kept (the folder need not exist yet)."""
    return private_cache.root() / "plans"


def enabled(use_cache: bool = True) -> bool:
    return use_cache and os.environ.get("TORCHGRADE_NO_PLAN_CACHE", "") not in ("1", "true", "yes")


def load_or_build(course: Course, *, hidden: bool, exercises: list[str] | None = None, cuda: bool | None = None,
                  workdir: Path | None = None, use_cache: bool = True) -> Plan:
    """build_plan's result, from the cache when an entry under the same key is there; else built and stored."""
    cuda = cuda_available() if cuda is None else cuda
    workdir = Path(workdir or tempfile.mkdtemp(prefix="torchgrade-plan-"))
    folder = private_cache.private_folder("plans") if enabled(use_cache) else None
    if folder is None:
        return _build(course, hidden=hidden, exercises=exercises, cuda=cuda, workdir=workdir)
    chosen = [e.id for e in course.exercises if exercises is None or e.id in exercises]
    try:
        key = plan_key(course, hidden=hidden, chosen=chosen, cuda=cuda)
    except OSError:  # a course file vanished since it was loaded: build_plan says what is wrong
        return _build(course, hidden=hidden, exercises=exercises, cuda=cuda, workdir=workdir)
    entry = folder / f"{key}{SUFFIX}"
    plan = _load(entry, key, course, workdir)
    if plan is not None:  # hidden, the selection and cuda are in the key
        with contextlib.suppress(OSError):
            os.utime(entry)  # the newest are kept
        return plan
    plan = _build(course, hidden=hidden, exercises=exercises, cuda=cuda, workdir=workdir)
    _save(entry, key, plan)
    _prune(folder)
    return plan


def _build(course: Course, **options: Any) -> Plan:
    """build_plan, with torch's compiler left unloaded: the initialisers' references run under a
    `TorchDispatchMode`, whose first use imports `torch._dynamo` (about 1 s, most of a public plan's
    build) only to mark functions "not to be compiled", which changes nothing outside `torch.compile`."""
    defer_dynamo()
    return build_plan(course, **options)


def plan_key(course: Course, *, hidden: bool, chosen: list[str], cuda: bool) -> str:
    """course_key (course files, torchgrade version) plus every other thing build_plan's result depends on."""
    return course_key(course, {
        "purpose": "plan", "format": FORMAT, "hidden": hidden, "exercises": chosen, "cuda": cuda,
        "course_file": str(Path(course.file).resolve()), **_environment()})


@functools.cache
def _environment() -> dict[str, str]:
    """The interpreter, the libraries that compute references and render plots, and the grader's own source."""
    versions = {"python": sys.version, "platform": sys.platform, "torch": torch.__version__,
                "grader_source": _source_digest()}
    for name in ("numpy", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _source_digest() -> str:
    """A code change in any check or probe changes plans even where the version number does not."""
    root = Path(__file__).resolve().parent
    hasher = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            hasher.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def _load(entry: Path, key: str, course: Course, workdir: Path) -> Plan | None:
    """The stored plan with its workdir files written into `workdir`, or None (and the entry removed) if unusable."""
    try:
        with open(entry, "rb") as file:
            if os.fstat(file.fileno()).st_uid != os.getuid():
                return None
            data = file.read()
    except OSError:
        return None
    written: list[Path] = []
    try:
        header = MAGIC + key.encode() + b"\n"
        if not data.startswith(header):
            raise ValueError("another format or key")
        payload = _PlanUnpickler(io.BytesIO(data[len(header):]), course, workdir).load()
        plan = payload["plan"]
        if not isinstance(plan, Plan) or plan.course is not course:
            raise ValueError("not a plan of this course")
        for relative, content in payload["files"].items():
            if PurePath(relative).is_absolute() or ".." in PurePath(relative).parts:
                raise ValueError("a file outside the workdir")
            target = workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(target)
        return plan
    except Exception:  # corrupt, truncated, stale classes: rebuilt by the caller, never the user's problem
        for path in written:
            path.unlink(missing_ok=True)
        entry.unlink(missing_ok=True)
        return None


def _save(entry: Path, key: str, plan: Plan) -> None:
    """Write atomically (private_cache.write_atomically); any failure just skips caching."""
    try:
        files = {p.relative_to(plan.workdir).as_posix(): p.read_bytes()
                 for p in sorted(plan.workdir.rglob("*")) if p.is_file() and not p.is_symlink()}
        buffer = io.BytesIO()
        buffer.write(MAGIC + key.encode() + b"\n")
        _PlanPickler(buffer, plan).dump({"plan": plan, "files": files})
        private_cache.write_atomically(entry, buffer.getbuffer())
    except Exception:
        pass


def _prune(folder: Path) -> None:
    """Keep the KEEP newest plans; drop temporary files a killed run left behind (older than an hour)."""
    try:
        entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        stale = [p for p in folder.glob(".*.tmp") if p.stat().st_mtime < time.time() - 3600]
        for path in entries[KEEP:] + stale:
            path.unlink(missing_ok=True)
    except OSError:
        pass


class _PlanPickler(pickle.Pickler):
    """The course's own objects by reference (the loading run has them), workdir paths relative to it,
    CPU tensor storages as raw bytes (torch's default pickling costs ~0.2 ms per tensor to load)."""

    def __init__(self, file: io.BytesIO, plan: Plan):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._workdir = plan.workdir
        self._known: dict[int, tuple] = {id(plan.course): ("course",)}
        for i, exercise in enumerate(plan.course.exercises):
            self._known[id(exercise)] = ("exercise", i, exercise.id)
            for j, check in enumerate(exercise.checks):
                self._known[id(check)] = ("check", i, j, exercise.id)
        self._blobs: dict[tuple[int, int], bytes] = {}

    def persistent_id(self, obj: Any) -> tuple | None:
        known = self._known.get(id(obj))
        if known is not None:
            return known
        if isinstance(obj, torch.storage.TypedStorage) and obj._untyped_storage.device.type == "cpu":
            raw = obj._untyped_storage
            ident = (raw.data_ptr(), raw.nbytes())
            if ident not in self._blobs:  # shared storages stay shared
                self._blobs[ident] = torch.empty(0, dtype=torch.uint8).set_(raw).numpy().tobytes()
            return ("storage", obj.dtype, self._blobs[ident])
        if isinstance(obj, PurePath):
            try:
                return ("workdir", Path(obj).relative_to(self._workdir).as_posix())
            except ValueError:
                return None
        if str(getattr(obj, "__module__", "")).startswith("_torchgrade_reference_"):
            raise Uncacheable(obj)
        return None


class _PlanUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, course: Course, workdir: Path):
        super().__init__(file)
        self._course, self._workdir = course, workdir
        self._storages: dict[int, tuple[bytes, torch.UntypedStorage]] = {}

    def persistent_load(self, pid: tuple) -> Any:
        kind = pid[0]
        if kind == "course":
            return self._course
        if kind in ("exercise", "check"):
            exercise = self._course.exercises[pid[1]]
            if exercise.id != pid[-1]:
                raise pickle.UnpicklingError("the course's exercises moved")
            return exercise if kind == "exercise" else exercise.checks[pid[2]]
        if kind == "workdir":
            return self._workdir if pid[1] == "." else self._workdir / pid[1]
        if kind == "storage":
            _, dtype, blob = pid
            if id(blob) not in self._storages:
                raw = torch.UntypedStorage.from_buffer(blob, dtype=torch.uint8) if blob else torch.UntypedStorage(0)
                self._storages[id(blob)] = (blob, raw)
            return torch.storage.TypedStorage(wrap_storage=self._storages[id(blob)][1], dtype=dtype, _internal=True)
        raise pickle.UnpicklingError(f"unknown reference {kind!r}")
