"""The fork server: a clean, warm Python that forks one confined child per job.

Run as `python -m grader.sandbox.server [MODULE ...]`: it imports torch, matplotlib (Agg) and the
named modules once, becomes a child subreaper (so a double-forked grandchild is still ours to
kill), then answers one JSON request per line on stdin with one JSON reply per line on stdout.
It never initialises CUDA; a child that needs CUDA initialises it after the fork.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import selectors
import signal
import sys
import time
import traceback
from typing import Any

from . import confine

PR_SET_CHILD_SUBREAPER = 36


class Steps:
    """Handed to the target: tells the supervising server which step is running."""

    def __init__(self, fd: int):
        self._fd = fd

    def start(self, name: str) -> None:
        os.write(self._fd, f"S {name}\n".encode())

    def done(self, name: str) -> None:
        os.write(self._fd, f"D {name}\n".encode())


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: process groups still apply


def _child(request: dict[str, Any], out_w: int, err_w: int, events_w: int, keep: set[int]) -> None:
    """In the forked child. Never returns."""
    code = 70
    try:
        os.setpgid(0, 0)
        for fd in range(3, 256):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        limits = request["limits"]
        workdir = request["workdir"]
        confine.clean_environment(workdir, request.get("env") or {})
        os.chdir(workdir)
        confine.redirect_stdio(out_w, err_w)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
        confinement = confine.confine(request)
        confine.apply_rlimits(limits)
        import torch
        torch.set_num_threads(int(limits.get("threads", 1)))
        module_name, _, function_name = request["target"].partition(":")
        target = getattr(importlib.import_module(module_name), function_name)
        argument = dict(request["argument"], _confinement=confinement)
        target(argument, Steps(events_w))
        code = 0
    except SystemExit as exc:  # the target's own decision
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code)


def _kill_descendants() -> None:
    """SIGKILL every process whose parent is this server (orphans are re-parented to us)."""
    me = str(os.getpid())
    for _ in range(50):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                found = True
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not found:
            return
        time.sleep(0.005)


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    limits = request["limits"]
    cap = int(limits["output_kb"]) * 1024
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    events_r, events_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(request, out_w, err_w, events_w, keep={out_w, err_w, events_w})
    for fd in (out_w, err_w, events_w):
        os.close(fd)

    kept = {out_r: bytearray(), err_r: bytearray()}
    truncated = False
    steps_done: list[str] = []
    current: str | None = None
    event_buffer = b""
    step_deadline = started + float(limits["step_s"])
    total_deadline = started + float(limits["total_s"])
    timed_out = False
    selector = selectors.DefaultSelector()
    for fd in (out_r, err_r, events_r):
        selector.register(fd, selectors.EVENT_READ)
    open_fds = {out_r, err_r, events_r}
    while open_fds:
        timeout = min(step_deadline, total_deadline) - time.monotonic()
        if timeout <= 0:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        for key, _ in selector.select(timeout):
            fd = key.fd
            chunk = os.read(fd, 65536)
            if not chunk:
                selector.unregister(fd)
                open_fds.discard(fd)
                continue
            if fd == events_r:
                event_buffer += chunk
                *lines, event_buffer = event_buffer.split(b"\n")
                for line in lines:
                    kind, _, name = line.decode().partition(" ")
                    if kind == "S":
                        current = name
                        step_deadline = time.monotonic() + float(limits["step_s"])
                    elif kind == "D":
                        steps_done.append(name)
                        current = None
                        step_deadline = time.monotonic() + float(limits["step_s"])
            else:
                room = cap - len(kept[fd])
                if room > 0:
                    kept[fd] += chunk[:room]
                if len(chunk) > room:
                    truncated = True
    selector.close()
    for fd in open_fds:
        os.close(fd)
    for fd in (out_r, err_r, events_r):
        try:
            os.close(fd)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _kill_descendants()
    exit_code = os.waitstatus_to_exitcode(status)
    sig = -exit_code if exit_code < 0 else None
    reason = None
    if timed_out:
        reason = "timeout"
    elif sig == signal.SIGXCPU:
        reason = "cpu"
    elif sig is not None:
        reason = "signal"
    elif exit_code != 0 or current is not None:
        reason = "exit"
    return {
        "exit_code": None if sig else exit_code, "signal": sig, "steps_done": steps_done,
        "failed_step": current, "reason": reason,
        "stdout": kept[out_r].decode("utf-8", "replace"), "stderr": kept[err_r].decode("utf-8", "replace"),
        "output_truncated": truncated, "wall_s": time.monotonic() - started,
        "confinement": confine.describe(request),
    }


def warm_up(modules: list[str]) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401
    for name in modules:
        module = importlib.import_module(name)
        warm = getattr(module, "warm", None)
        if callable(warm):
            warm()  # pay one-time costs (lazy imports, kernel registration) before forking


def main(argv: list[str]) -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # nothing but replies on the reply channel
    warm_up(argv)
    _become_subreaper()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    replies.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = run_job(json.loads(line))
        except Exception as exc:  # a broken request; the server keeps serving
            reply = {"exit_code": None, "signal": None, "steps_done": [], "failed_step": None,
                     "reason": "crash", "stdout": "", "stderr": f"fork server: {exc!r}",
                     "output_truncated": False, "wall_s": 0.0}
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
