"""The grader's handle on one fork server process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterable

from . import fonts, switches, templates
from .api import Job, Outcome

#: The folder that holds the `grader` package, so the server can import it without an install.
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
#: The only variables of the grader's environment a server sees: switches for trying the fallbacks
#: (no Landlock, no cgroup, no user namespace) on a machine that has them, and where the GPU driver is.
PASSED_ON = switches.NAMES + switches.GPU_ENVIRONMENT


class ForkServerError(RuntimeError):
    pass


def default_mode() -> str:
    """"fork" where the OS has fork; "spawn" elsewhere or when TORCHGRADE_START=spawn."""
    chosen = os.environ.get("TORCHGRADE_START", "")
    if chosen in ("fork", "spawn"):
        return chosen
    return "fork" if hasattr(os, "fork") and sys.platform.startswith("linux") else "spawn"


def environment(home: str) -> dict[str, str]:
    """A server's whole environment: nothing of the grader's but the switches and the GPU's variables."""
    env = {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "HOME": home,
        "PYTHONPATH": _PACKAGE_PARENT, "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(Path(home) / ".mpl"), "OMP_NUM_THREADS": "1",
        # graded code runs on one thread (the seccomp filter refuses more): OpenMP must never try to start
        # one, or a learner's torch.set_num_threads(4) would end the child at its first parallel loop
        "OMP_THREAD_LIMIT": "1",
    }
    env.update({k: v for k, v in os.environ.items() if k in PASSED_ON})
    return env


class ForkServer:
    """A warm server that forks one child per job. One job at a time; use one per worker.

    `mode="spawn"` runs each job in a fresh interpreter instead of a fork (for systems without
    a safe fork); the child is confined the same way and the results are the same, only slower.
    """

    def __init__(self, preload: tuple[str, ...] = (), python: str = sys.executable, mode: str | None = None):
        self._preload = preload
        self._python = python
        self.mode = mode or default_mode()
        if self.mode not in ("fork", "spawn"):
            raise ValueError(f"mode must be 'fork' or 'spawn', not {self.mode!r}")
        self._process: subprocess.Popen | templates.ForkedServer | None = None
        self._lock = threading.Lock()
        self._home = tempfile.mkdtemp(prefix="torchgrade-server-")

    def start(self) -> "ForkServer":
        if self._process is not None and self._process.poll() is None:
            return self
        env = environment(self._home)
        self._process = templates.forked_server(self._python, self._preload, env, self._home) \
            if self.mode == "fork" else None
        if self._process is not None:
            try:
                self._read_ready()
                return self
            except ForkServerError:  # a forked server that ended before it was ready: start one on its own
                pass
        mode = ["--spawn"] if self.mode == "spawn" else []
        with fonts.kept_for(self._python, Path(self._home) / ".mpl"):
            self._process = subprocess.Popen(
                [self._python, "-m", "grader.sandbox.server", *mode, *self._preload],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=self._home, env=env, text=True, bufsize=1,
            )
            self._read_ready()
        return self

    def _read_ready(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        ready = self._process.stdout.readline()
        if not ready or not json.loads(ready).get("ready"):
            self._abandon()
            raise ForkServerError("the fork server did not start (is torch installed for this Python?)")

    def run(self, job: Job, on_step_done: Callable[[str], None] | None = None,
            steps: Iterable[str] = ()) -> Outcome:
        """Run the job; `on_step_done(name)` is called (in this thread) as the child finishes each of
        `steps`, while it goes on with the next. The child says so: take it as a hint, not a fact."""
        with self._lock:
            self.start()
            assert self._process and self._process.stdin and self._process.stdout
            request = dict(job.to_json(), stream_steps=list(steps) if on_step_done is not None else [])
            problem: BaseException | None = None
            try:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
                while True:
                    line = self._process.stdout.readline()
                    message = json.loads(line) if line else None
                    if message is None or "step_done" not in message:
                        break
                    if on_step_done is not None and problem is None:
                        try:
                            on_step_done(str(message["step_done"]))
                        except Exception as exc:  # read on to the reply, or the next job would get this one's
                            problem = exc
            except (BrokenPipeError, OSError, ValueError):  # ValueError: a line that is not JSON
                message = None
            except BaseException:  # e.g. Ctrl-C in the listener: mid-job, the reply would reach the next job
                self._abandon()
                raise
            if message is None:
                self._abandon()
                return Outcome(None, None, (), None, "crash", "", "the fork server stopped", False, 0.0)
            if problem is not None:
                raise problem
            return Outcome.from_json(message)

    def _abandon(self) -> None:
        """Stop a server that may be in the middle of a job; the next run starts a fresh one."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "ForkServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
