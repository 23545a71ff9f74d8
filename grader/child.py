"""The child side of one grading: import the learner's modules, run the probes, save plain data.

Runs in the sandbox's child process, so nothing here is trusted by the grader: it only
produces `<exercise>.data` files of plain data (grader.wire, read by the grader with an unpickler that builds
nothing but builtins and tensors). Each module's
import and each exercise is a sandbox step, so a hang or a crash is blamed on that step alone; each
exercise runs in a copy of the process as the module's import left it (in_a_copy), so that what one
exercise's code changes reaches no other's verdict.
"""
from __future__ import annotations

import importlib
import os
import resource
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from . import kinds, wire
from .calls import PART_NOTES
from .entry import RUNNING_FILE, RUNNING_WIDTH
from .encode import encode_error
from .probes.copies import AsImported, defines_no_code, handlers_now, in_a_copy
from .probes.core import hide_recorders, watch_exercise
from .probes.signature import signature_problem
from .probes.process_state import ProcessState
from .probes.lazy_dynamo import defer_dynamo
from .probes.cuda_model import install_generator_model
from .probes.eager_compile import run_compiled_code_eagerly
from .sandbox.confine import confine_a_copy

defer_dynamo()  # before any probe runs: torch's eager code would load its compiler (1 s) for nothing
install_generator_model()  # torch.Generator(device=x.device) on the simulated GPU, however the learner imports it
run_compiled_code_eagerly()  # @torch.compile: the same results without seconds of compiling per case
hide_recorders()  # learner code sees no operator recorder on the dispatch mode stack, watched or not

#: probe name → the function the child runs for a call asking for it: every kind folder's probe module
PROBES = kinds.probes()
#: probes that report on every call of the exercise (the forbid kind's), and those that back-propagate
RUN_LAST = kinds.probes_marked("RUN_LAST")
BACKWARD = kinds.probes_marked("BACKWARD")


def _close_figures() -> None:
    if "matplotlib.pyplot" in sys.modules:
        try:
            sys.modules["matplotlib.pyplot"].close("all")
        except BaseException:
            pass


def _import(module: str, submission_dir: str) -> tuple[Any, dict | None]:
    if not (Path(submission_dir) / f"{module}.py").is_file():
        return None, {"status": "missing_module"}
    try:
        return importlib.import_module(module), None
    except BaseException as exc:  # SyntaxError, SystemExit, KeyboardInterrupt …
        return None, {"status": "import_error", "error": encode_error(exc, submission_dir)}
    finally:
        _close_figures()


class _Running:
    """Notes the call about to run in entry.RUNNING_FILE, written in place, so that a stop (a hang, an exit,
    a crash) can be told which case it happened in (execute.running_case)."""

    def __init__(self, folder: Path | None):
        self._fd = os.open(folder / RUNNING_FILE, os.O_WRONLY | os.O_CREAT, 0o600) if folder is not None else None
        self._call = ""

    def note(self, exercise_id: str, key: str) -> None:
        """Tab-separated: a key alone (`values/random-3`) is found in many exercises."""
        self._call = f"{exercise_id}\t{key}"
        self._write(self._call)

    def part(self, part: str) -> None:
        """The part of the noted call that runs now (grader.calls.note_part)."""
        self._write(f"{self._call}\t{part}")

    def _write(self, text: str) -> None:
        if self._fd is not None:
            os.pwrite(self._fd, text.encode("utf-8", "replace")[:RUNNING_WIDTH].ljust(RUNNING_WIDTH), 0)


def run_exercise(task: dict[str, Any], module: Any, submission_dir: str,
                 running: _Running | None = None, exercise_id: str = "") -> dict[str, Any]:
    fn = getattr(module, task["function"], None)
    if fn is None or not callable(fn):
        return {"status": "missing_function"}
    if task.get("signature"):
        try:
            problem = signature_problem(fn, task["signature"])
        except BaseException:
            problem = None
        if problem is not None:
            return problem
    results: dict[str, Any] = {}
    # With a forbid check, every call runs under the operator recorder, and the forbid probes (RUN_LAST)
    # run last, so they report what all the calls reached.
    last = [call for call in task["calls"] if call["probe"] in RUN_LAST]
    watch_exercise(bool(last))
    for call in [call for call in task["calls"] if call["probe"] not in RUN_LAST] + last:
        call = dict(call, submission_dir=submission_dir)
        if running is not None:
            running.note(exercise_id, call["key"])
        probe = PROBES[call["probe"]]
        try:
            results[call["key"]] = probe(fn, call)
        except BaseException as exc:  # a probe's own step raised on learner output
            results[call["key"]] = {"error": encode_error(exc, submission_dir)}
        finally:
            _close_figures()
    watch_exercise(False)
    return {"status": "ok", "results": results}


def sendable(record: dict[str, Any], submission_dir: str, limit: int | None = None) -> bytes:
    """The record as the wire writes it, in at most `limit` bytes (default: the largest file the child may write,
    RLIMIT_FSIZE). Each call's result is written on its own first, so that one the wire cannot carry (a uint16
    or float8 tensor, a sparse one, one of too many dimensions, one too large for memory …) becomes an error
    naming that result, and the largest results become errors while the exercise's results together are too
    large to save: each costs its own case, with words that say so, and never the whole process (which would
    read as the learner's code ending it)."""
    results = record.get("results")
    if not isinstance(results, dict):
        return wire.dumps(record)
    if limit is None:
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        limit = None if soft == resource.RLIM_INFINITY else soft
    try:
        data = wire.dumps(record)  # what nearly every record is: written at once
        if limit is None or len(data) <= limit:
            return data
    except Exception:
        pass
    data = b""
    fixed: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    for key, value in results.items():
        try:
            sizes[key] = len(wire.dumps(value))  # one result's bytes held at a time
            fixed[key] = value
        except Exception as exc:
            why = str(exc) or type(exc).__name__  # a MemoryError says nothing
            fixed[key] = _unsaved(f"the grader cannot read back what your function returned ({why}); return a "
                                  f"dense tensor of the input's dtype and device", submission_dir)
    total = whole = sum(sizes.values())
    room = None if limit is None else max(limit // 2, limit - 2**20 - 4096 * len(results))  # for the words
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if room is None or total <= room:
            break
        fixed[key] = _unsaved(f"the grader cannot read back what your function returned for this input "
                              f"({sizes[key] / 2**20:.1f} MB): the exercise's results came to {whole / 2**20:.0f} MB "
                              f"in all, more than the {limit / 2**20:.0f} MB the grader takes back for one exercise; "
                              f"return only what is asked", submission_dir)
        total -= sizes[key]
    try:
        return wire.dumps({**record, "results": fixed})
    except Exception as exc:  # no memory left for the whole record: every case says so
        why = str(exc) or type(exc).__name__
        unsaved = _unsaved(f"the grader could not save what your function returned ({why}); return only what is "
                           f"asked", submission_dir)
        return wire.dumps({**record, "results": dict.fromkeys(results, unsaved)})


def _unsaved(words: str, submission_dir: str) -> dict[str, Any]:
    return {"error": {**encode_error(TypeError(words), submission_dir), "unsaved": True}}


#: Device files of GPUs torch's autograd engine would find: NVIDIA, AMD (ROCm), a GPU passed to WSL.
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/kfd", "/dev/dxg")


def backward_would_start_a_gpu() -> bool:
    """Would a backward pass in this process start a GPU driver?

    The first backward pass asks every device type torch was built for how many devices it has, which
    starts the CUDA driver, and starts one autograd thread per GPU. A process forked after that can use
    neither CUDA ("initialization error") nor autograd ("Unable to handle autograd's threading in
    combination with fork-based multiprocessing"): seen on an H200, every gradient check failed. Decided
    from device files, without asking the driver, since asking is what must not happen."""
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu._is_compiled():
        return True
    return torch.cuda._is_compiled() and any(Path(name).exists() for name in GPU_DEVICE_FILES)


def warm() -> None:
    """Run every probe once in the fork server, so children inherit torch's lazy imports done.

    Backward passes are left to the children where they would start a GPU (backward_would_start_a_gpu)."""
    backward = not backward_would_start_a_gpu()
    x = torch.linspace(-1, 1, 6, dtype=torch.float64)
    call = {"key": "warm", "arg_names": ["x"], "args": [x], "kwargs": {}, "device": "cpu",
            "options": {"wrt": ["x"], "upstream": torch.ones(6, dtype=torch.float64), "device": "model"}}
    for name, probe in PROBES.items():
        if name in BACKWARD and not backward:
            continue
        try:
            probe(torch.exp, call)
        except Exception:
            pass
    watch_exercise(False)
    from .probes.init import warm as warm_init
    warm_init()  # initialiser probes run once on torch.nn.init: children inherit its lazy imports done
    for warm_kind in kinds.probe_warmers():
        warm_kind(backward)  # e.g. matplotlib on Agg with its font cache built, torch.nn and autograd warm
    wire.loads(wire.dumps({"x": x}))
    try:  # torch.vmap registers its operators at first use: done here, a learner's vmap leaves nothing changed
        torch.vmap(torch.sum)(torch.ones(2, 3))
    except Exception:
        pass


def start_gpu() -> None:
    """Start CUDA, its context and autograd's GPU thread before any learner code runs.

    Both start threads, and the learner's code may leave none to start (a bounded fork bomb fills the
    child's process limit): on an H200 that took the child down at its first backward pass, where a CPU
    machine, which starts no such threads, graded on. Started first, they cost the learner nothing."""
    torch.cuda.init()
    x = torch.ones(1, device="cuda", requires_grad=True)  # the context (and its threads) exists from here
    (x * 2).sum().backward()  # a kernel run, and autograd's thread for the GPU started
    torch.cuda.synchronize()


_TASKS: dict[str, tuple[tuple[int, int, int], Any]] = {}


def load_tasks(path: str) -> bool:
    """Read the plan's tasks unless this process holds them already; True where they were read now.

    The fork server calls it before each fork (the job's `prepare`), so a child finds them loaded:
    20 ms per submission of activations and losses, 760 kB unpickled once per run instead. A file
    changed since (a new plan at the same path) is read again."""
    stat = os.stat(path)
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    held = _TASKS.get(path)
    if held is not None and held[0] == key:
        return False
    _TASKS.clear()  # one plan at a time
    _TASKS[path] = (key, wire.load(path, from_the_grader=True))
    return True


#: The learner's working folder from the import on, below the job's: each copy may change the file system
#: only there and in its temporary folders, never where the records are saved.
FILES = "files"


def main(argument: dict[str, Any], steps) -> None:
    submission_dir = argument["submission_dir"]
    out_dir = Path(argument["out_dir"]).absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    if argument.get("cuda"):
        steps.start("start:cuda")
        start_gpu()
        steps.done("start:cuda")
    files = Path.cwd() / FILES
    files.mkdir(exist_ok=True)
    os.chdir(files)
    os.environ["HOME"] = str(files)  # the job's own folder holds the records, which no copy may change
    learners = LearnersFiles([str(files), tempfile.gettempdir(), os.environ.get("MPLCONFIGDIR", "")], out_dir)
    sys.path.insert(0, submission_dir)
    load_tasks(argument["tasks_file"])
    tasks = _TASKS[argument["tasks_file"]][1]
    imported: dict[str, tuple[Any, dict | None]] = {}
    data_only: dict[str, bool] = {}  # modules that define no code: their exercises need no copies
    exercises = argument["exercises"]
    running = _Running(out_dir)
    PART_NOTES[:] = [running.part]
    state: ProcessState | None = None
    as_imported: AsImported | None = None
    for index, exercise_id in enumerate(exercises):
        task = tasks[exercise_id]
        module_name = task["module"]
        if module_name not in imported:
            known = ProcessState.names_now()  # what a note may name: nothing the learner's code added
            handlers = handlers_now()
            steps.start(f"import:{module_name}")
            imported[module_name] = _import(module_name, submission_dir)
            steps.done(f"import:{module_name}")
            state = ProcessState(known, imported[module_name][0])  # what the module's exercises start from
            as_imported = AsImported(handlers)
            as_imported.set_aside()  # no learner code runs here between the copies
            learners.note()
            data_only[module_name] = defines_no_code(imported[module_name][0])
        steps.start(exercise_id)
        module, failure = imported[module_name]
        record = Record(out_dir / f"{exercise_id}{wire.SUFFIX}")
        save = _saver(task, module, failure, state, submission_dir, running, exercise_id, record)

        def prepare(as_imported: AsImported | None = as_imported) -> None:
            if as_imported is not None:
                as_imported.restore()

        def prepare_copy() -> None:
            steps.close()  # only this process announces steps
            confine_a_copy(learners.folders)
            prepare()

        end_here = False
        if failure is None and not data_only[module_name] and not argument.get("cuda"):
            if in_a_copy(save, record.written, prepare_copy):
                learners.restore()  # what the exercise's code wrote ends with it too
            else:  # the import left no process to fork: this exercise here, the rest in fresh children
                prepare()
                save()
                end_here = True
        elif failure is not None or data_only[module_name]:  # no learner code to run: here
            save()
        else:  # here, where a CUDA context cannot be copied (an exercise with GPU cases has a child of its own)
            prepare()
            end_here = save(everything=index < len(exercises) - 1)
            if as_imported is not None:
                as_imported.set_aside()
        record.keep()
        steps.done(exercise_id)
        if end_here:
            break  # the later exercises get a fresh child (execute), as the import left it
    sys.stdout.flush()


class Record:
    """An exercise's record, written through a descriptor the child opens before the exercise runs, to a name
    the grader does not read (`<id>.data.part`), and given its name by the child once the exercise has
    ended: a copy's code may write nothing in the records' folder (confine_a_copy), and no record is
    the grader's before its exercise is over."""

    def __init__(self, path: Path):
        self.path = path
        self._part = path.with_name(path.name + ".part")
        for stale in (path, self._part):  # put there by code that ran where no Landlock keeps it out
            _remove(stale)
        self.fd = os.open(self._part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view.nbytes:
            view = view[os.write(self.fd, view):]

    def written(self) -> bool:
        return os.fstat(self.fd).st_size > 0

    def keep(self) -> None:
        """Close it; a written record gets its name."""
        if self.fd < 0:
            return
        written = self.written()
        os.close(self.fd)
        self.fd = -1
        if written:
            _remove(self.path)
            os.rename(self._part, self.path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


class LearnersFiles:
    """The folders the learner's code may write in (its working folder, its temporary folders): what the import
    left there is noted, and what a copy adds is removed once it has ended, so that no exercise finds a file
    another wrote. (A file of the import's that a copy changes stays changed.)"""

    def __init__(self, folders: list[str], records: Path):
        self.folders = [folder for folder in dict.fromkeys(folders) if folder and os.path.isdir(folder)]
        self._records = str(records)  # never the learner's, wherever the folders lie
        self._noted: set[str] = set()

    def _now(self) -> set[str]:
        found: set[str] = set()
        waiting = list(self.folders)
        while waiting:  # without recursion: a learner's folders may nest deeper than Python's stack
            try:
                with os.scandir(waiting.pop()) as entries:
                    for entry in entries:
                        if entry.path == self._records:
                            continue
                        found.add(entry.path)
                        if entry.is_dir(follow_symlinks=False):
                            waiting.append(entry.path)
            except OSError:
                continue
        return found

    def note(self) -> None:
        self._noted = self._now()

    def restore(self) -> None:
        for path in sorted(self._now() - self._noted, key=lambda path: path.count(os.sep), reverse=True):
            try:  # what is inside a folder first
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    os.rmdir(path)
                else:
                    os.unlink(path)
            except OSError:
                pass


def _saver(task: dict[str, Any], module: Any, failure: dict | None, state: ProcessState | None, submission_dir: str,
           running: _Running, exercise_id: str, record: Record) -> Callable[..., bool]:
    """Runs the exercise and writes its record; the function returns whether it left the process changed.

    The note (feedback, never a point) names the settings the exercise left changed, wherever it ran; the
    libraries' attributes and the learner's module are compared too only where that decides whether the
    later exercises need a fresh child (`everything`, ProcessState.changes)."""
    def save(everything: bool = False) -> bool:
        loaded = len(sys.modules)
        result = failure if failure is not None else run_exercise(task, module, submission_dir, running, exercise_id)
        watched = state is not None and failure is None
        changed = state.settings_changed() if watched else []
        if changed:
            result = dict(result, left_changed=changed + ["imported"] * (len(sys.modules) > loaded))
        record.write(sendable(result, submission_dir))
        return bool(changed) or (everything and watched and bool(state.changes()))
    return save
