"""Fork servers forked from one warm template per grader process, instead of each importing torch anew.

A template is `python -m grader.sandbox.server --template MODULE ...`: warmed up exactly as a fork
server is, then it only forks. Each fork becomes a fresh server that has never run a job, on pipes
of its own, so a grader that starts several servers, or starts one again, pays torch's import once
(Python's multiprocessing "forkserver" does the same for its workers). The template never runs a job
or anything of a learner's, and keeps no state from one fork to the next: a server forked from it is
the server a fresh start would give. One template per interpreter, preload and environment is kept
(at most KEEP) until the process ends them (`close_all`, also at interpreter exit) or itself ends
(the control socket closes); servers already forked go on without it.

Where anything of this fails (no pidfd or fd passing, a template that died, stopped answering or never
started), the caller starts a server on its own: a template can cost time, never a grading.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from . import fonts


class TemplateError(RuntimeError):
    pass


#: How long the template may take to answer a fork request (it forks and answers at once): past it, the
#: template is taken as stuck (stopped, swapped out) and a fresh start is made instead.
REPLY_S = 30.0
#: How long a template may take to warm up (a fork server started on its own has as long to start a job's child).
STARTUP_S = 120.0
#: Templates kept at once, one per interpreter, preload and switches: the least recently made goes first.
KEEP = 4


class ForkedServer:
    """The parts of subprocess.Popen a ForkServer uses, for a server forked by the template.

    It is the template's child, not ours: a pidfd follows it, opened while the template still holds its
    pid (it reaps only when it reads the next request), so no reused pid can confuse a kill or a wait."""

    def __init__(self, pid: int, pidfd: int, stdin: Any, stdout: Any):
        self.pid = pid
        self._pidfd = pidfd
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None

    def _ended(self, timeout: float | None) -> bool:
        watch = select.poll()  # not select(): a grader may hold more than 1024 descriptors
        watch.register(self._pidfd, select.POLLIN)
        return bool(watch.poll(None if timeout is None else int(timeout * 1000)))

    def poll(self) -> int | None:
        if self.returncode is None and self._ended(0):
            self.returncode = -1  # ended; its exit status is the template's to collect
            self._release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not self._ended(timeout):
                raise subprocess.TimeoutExpired(f"fork server {self.pid}", timeout or 0)
            self.poll()
        return self.returncode if self.returncode is not None else -1

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _release(self) -> None:
        _close_quietly(self.stdin, self.stdout, self._pidfd)


class Template:
    """A running template, and the lock that keeps one fork request at a time on its control socket."""

    def __init__(self, argv: list[str], env: dict[str, str], home: str):
        self.home = home
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(argv, stdin=theirs, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, cwd=home, env=env)
        finally:
            theirs.close()
        self._control = ours
        self._replies = ours.makefile("r", encoding="utf-8")
        self._lock = threading.Lock()
        self._usable = True
        try:
            ours.settimeout(STARTUP_S)
            ready = self._replies.readline()
            if not ready or not json.loads(ready).get("ready"):
                raise TemplateError("the fork server template did not start")
        except BaseException:
            self.discard()
            raise

    def alive(self) -> bool:
        return self._usable and self._process.poll() is None

    def fork(self, home: str) -> ForkedServer:
        """A new server, working in `home`: its ready line is the first on its stdout, as from a fresh start.

        Anything that goes wrong once the request is sent (no answer in REPLY_S, an interrupt, a refusal)
        ends the template: its next answer could otherwise be read as another request's."""
        ends: list[int] = []
        try:
            requests_r, requests_w = os.pipe()
            ends += [requests_r, requests_w]
            replies_r, replies_w = os.pipe()
            ends += [replies_r, replies_w]
            with self._lock:
                if not self.alive():
                    raise TemplateError("the template is no longer usable")
                try:
                    self._control.settimeout(REPLY_S)
                    socket.send_fds(self._control, [json.dumps({"home": home}).encode()], [requests_r, replies_w])
                    line = self._replies.readline()
                    reply = json.loads(line) if line else {"error": "the template stopped"}
                    if "pid" not in reply:
                        raise TemplateError(str(reply.get("error")))
                    pid = int(reply["pid"])
                    pidfd = os.pidfd_open(pid)
                except BaseException:
                    self.discard()
                    raise
            ends.remove(requests_w)
            ends.remove(replies_r)
            return ForkedServer(pid, pidfd, os.fdopen(requests_w, "w", buffering=1, encoding="utf-8"),
                                os.fdopen(replies_r, "r", encoding="utf-8"))
        finally:
            _close_quietly(*ends)

    def _close_control(self) -> None:
        """Close the grader's end (the reply reader holds the socket open until it is closed too)."""
        _close_quietly(self._replies, self._control)

    def discard(self) -> None:
        """End the template now (its servers go on: each has pipes of its own)."""
        self._usable = False
        self._close_control()
        self._process.kill()
        self._process.wait()
        shutil.rmtree(self.home, ignore_errors=True)  # a template that ends on its own removes it itself

    def close(self) -> None:
        """Let the template end as it does when the grader exits (its control socket closes)."""
        self._usable = False
        try:
            self._close_control()
        finally:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                shutil.rmtree(self.home, ignore_errors=True)


def _close_quietly(*things: Any) -> None:
    """Close each file, socket or descriptor; one already closed or broken is no error here."""
    for thing in things:
        try:
            os.close(thing) if isinstance(thing, int) else thing.close()
        except OSError:
            pass


_templates: dict[tuple, Template] = {}
_registry_lock = threading.Lock()


def forked_server(python: str, preload: tuple[str, ...], env: dict[str, str], home: str) -> ForkedServer | None:
    """A fresh server forked from this process's template for (python, preload, env), started on first
    use; None where no template can serve (the caller then starts the server itself)."""
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return None
    key = (python, preload, tuple(sorted((k, v) for k, v in env.items() if k not in ("HOME", "MPLCONFIGDIR"))))
    template = None
    try:
        with _registry_lock:
            template = _templates.get(key)
            if template is None or not template.alive():
                _templates.pop(key, None)
                while len(_templates) >= KEEP:
                    _templates.pop(next(iter(_templates))).close()
                template = _templates[key] = _start(python, preload, env)
        return template.fork(home)
    except (OSError, TemplateError, ValueError):
        with _registry_lock:
            if template is not None and _templates.get(key) is template:
                del _templates[key]
        return None


def close_all() -> None:
    """End every template of this process (servers already forked go on). It does not wait for the lock:
    a template still starting (its warm-up hung) must not keep the command from exiting; that one ends
    when the process does."""
    ended = list(_templates.values())
    _templates.clear()
    for template in ended:
        template.close()


atexit.register(close_all)  # an interpreter that exits normally waits for its templates (os._exit does not)


def _start(python: str, preload: tuple[str, ...], env: dict[str, str]) -> Template:
    home = tempfile.mkdtemp(prefix="torchgrade-template-")
    mpl_config = Path(home) / ".mpl"
    env = dict(env, HOME=home, MPLCONFIGDIR=str(mpl_config))
    with fonts.kept_for(python, mpl_config):
        return Template([python, "-m", "grader.sandbox.server", "--template", *preload], env, home)
