"""Each exercise in a copy of the child, as the learner's module's import left the child.

The child imports a learner module once, then runs each of its exercises in a forked copy (`in_a_copy`), so
that whatever one exercise's code changes — its module's lists, dicts and tensors, a class attribute, a
function's mutable default, torch's settings — ends with the copy and reaches no other exercise's verdict.

What the import left that a fork does not carry is given to each copy again (`AsImported.restore`): Python's
random state (the `random` module reseeds itself in every forked process), interval timers (a fork does
not inherit them) and where each file the import opened stands (a fork shares the offsets). And none of
the learner's code runs in the child between copies by the grader's doing: the learner's signal handlers
and timers are set aside there (`AsImported.set_aside`), since a signal a copy sends the child would run a
handler in it and change what every later copy starts from, and copies are forked without the hooks the
import may have registered around forks (`_fork`). (Python still runs an import's `gc.callbacks` when it
collects garbage in the child.)
"""
from __future__ import annotations

import ctypes
import os
import random
import signal
import stat
import sys
import traceback
from types import ModuleType
from typing import Any, Callable


TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
#: signals whose handler may be read and set
SIGNALS = tuple(sorted(set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}))


def handlers_now() -> dict[int, Any]:
    """Every signal's handler as Python sees it (None: one set from C)."""
    found = {}
    for signum in SIGNALS:
        try:
            found[signum] = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
    return found


def set_handler(signum: int, handler: Any) -> None:
    """signal.signal where it can be: not for SIGKILL, nor a handler set from C (getsignal's None)."""
    try:
        if handler is not None:
            signal.signal(signum, handler)
    except (OSError, ValueError, TypeError):
        pass


def _file_offsets() -> dict[int, int]:
    """Where each open regular file stands (file descriptor → offset): a file the import opened and a copy read
    on would stand elsewhere for the next copy, which shares it."""
    offsets = {}
    for fd in range(3, 1024):
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                offsets[fd] = os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            continue
    return offsets


class AsImported:
    """What the learner's import left that a forked copy would not start from by itself.

    `before`: the handlers before the import (handlers_now()), so that only those the import set are the
    learner's."""

    def __init__(self, before: dict[int, Any]):
        self._offsets = _file_offsets()
        self._random = random.getstate()
        self._timers = {which: signal.getitimer(which) for which in TIMERS}
        self._handlers = {signum: handler for signum, handler in handlers_now().items()
                          if handler is not before.get(signum)}

    def set_aside(self) -> None:
        """In the child, until the next copy: timers disarmed, the learner's handlers ignoring their signals,
        and SIGCHLD at its default (a learner's handler, or SIG_IGN, would reap the copies the child waits for)."""
        for which, (value, _) in self._timers.items():
            if value > 0:
                signal.setitimer(which, 0)
        for signum, handler in self._handlers.items():
            if callable(handler):
                set_handler(signum, signal.SIG_IGN)
        set_handler(signal.SIGCHLD, signal.SIG_DFL)

    def restore(self) -> None:
        """Where an exercise is about to run: as the import left it (the handlers first: a timer may fire at once)."""
        random.setstate(self._random)
        for fd, offset in self._offsets.items():  # a forked process shares its parent's file offsets
            try:
                os.lseek(fd, offset, os.SEEK_SET)
            except OSError:
                pass
        for signum, handler in self._handlers.items():
            set_handler(signum, handler)
        for which, (value, interval) in self._timers.items():
            if value > 0:
                signal.setitimer(which, value, interval)


#: Values whose use runs no code of the learner's: what a module that defines no code holds.
PLAIN = (str, int, float, bool, type(None), bytes, complex)
CONTAINERS = (list, tuple, set, frozenset, dict)


def defines_no_code(module: Any) -> bool:
    """Whether the learner's module holds data only (an answers.py): no function, class or other object of
    its own, nothing but numbers, strings and containers of them (and modules it imported). Reading such a
    module runs none of the learner's code, so its exercises need no copies."""
    if type(module) is not ModuleType:
        return False
    budget = [100_000]

    def plain(value: Any, depth: int) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if type(value) in PLAIN:
            return True
        if depth >= 8 or type(value) not in CONTAINERS:
            return False
        items = [item for pair in value.items() for item in pair] if type(value) is dict else list(value)
        return all(plain(item, depth + 1) for item in items)

    for name, value in vars(module).items():
        if name.startswith("__") and name.endswith("__"):
            if name in ("__getattr__", "__dir__"):  # hooks a module may define for its attributes
                return False
            continue
        if type(value) is not ModuleType and not plain(value, 0):
            return False
    return True


#: Bound before any learner code runs: an import may rebind ctypes' names, not what is held here.
_LIBC = ctypes.CDLL(None, use_errno=True)
_AFTER_FORK_IN_CHILD = ctypes.pythonapi.PyOS_AfterFork_Child
_FORK, _WAITPID, _EXIT, _KILL, _STATUS = _LIBC.fork, os.waitpid, os._exit, os.kill, os.waitstatus_to_exitcode


def _fork() -> int:
    """fork(), running none of the Python code registered to run in the parent around a fork (the learner's
    import may have registered some: os.register_at_fork's `before` and `after_in_parent`, an audit hook's
    "os.fork" event), which would run the learner's code in this process before every copy. The copy still
    updates the interpreter's state for itself (PyOS_AfterFork_Child, as os.fork does), running the
    hooks registered for the child there; this process is single-threaded, so nothing needs the import
    lock that PyOS_BeforeFork would take."""
    pid = _FORK()
    if pid < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    if pid == 0:
        _AFTER_FORK_IN_CHILD()
    return pid


def in_a_copy(run: Callable[[], object], saved: Callable[[], bool], prepare: Callable[[], object]) -> bool:
    """Call `prepare()` then `run()`, which saves what `saved()` then finds, in a forked copy of this process,
    and wait for it; False where it was not run (no copy possible).

    A copy that ends otherwise than by returning from `run` (a crash, os._exit, a signal) ends this process
    the same way, so that the server blames the step it was in, as if it had run here. Not possible where the
    learner's code has used up the processes it may have, and not to be asked once CUDA has started in this
    process (a forked CUDA context is unusable): the caller knows whether it started CUDA, where torch.cuda
    would answer what the learner's import made it answer."""
    for stream in (sys.stdout, sys.stderr):  # written once, by this process, not again by the copy
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        pid = _fork()
    except OSError:
        return False
    if pid == 0:
        code = 1
        try:
            prepare()
            run()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            try:
                traceback.print_exc()
            except BaseException:
                pass
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            _EXIT(code)
    _, status = _WAITPID(pid, 0)
    code = _STATUS(status)
    if code == 0 and saved():
        return True
    if code >= 0:
        _EXIT(code)
    set_handler(-code, signal.SIG_DFL)  # a handler would keep this process alive
    _KILL(os.getpid(), -code)
    _EXIT(128 - code)
