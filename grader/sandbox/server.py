"""The fork server: a clean, warm Python that starts one confined child per job.

Run as `python -m grader.sandbox.server [--spawn] [MODULE ...]`: it imports torch, matplotlib
(Agg) and the named modules once, becomes a child subreaper (so a double-forked grandchild is
still ours to kill), makes a pids cgroup where it may, then answers one JSON request per line on
stdin with one JSON reply per line on stdout (preceded by a `{"step_done": name}` line as the
child finishes each step the request names in `stream_steps`). It never initialises CUDA; a child
that needs CUDA initialises it after the fork.

With `--template` it is the warm process that servers are forked from (templates.py): warmed up
the same way, it forks a fresh server for each request and runs no job itself.

With `--spawn` (where fork is unavailable or unsafe) each job runs instead in a fresh
`python -m grader.sandbox.server --once`, which reads the request on stdin and confines itself
the same way: slower (an interpreter start per job), same results.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from typing import Any, Callable

from . import confine, paths, processes, streams

PR_SET_CHILD_SUBREAPER = 36
REFUSED_EXIT = 75
#: How long a child may take to start and confine itself before the job's own clock starts.
STARTUP_S = 120.0
#: The longest line the child's own code writes on the events channel ("S <step name>"), with room to spare.
MAX_EVENT_LINE = 4096
#: Events read per scheduled step (start, done, and room for a step announced again) before the channel is
#: taken as flooded.
EVENTS_PER_STEP = 8
#: The same bound for a job that names no steps in advance.
UNSCHEDULED_EVENTS = 4096
#: How often the server counts a job's processes itself, where neither a pids cgroup nor a
#: per-namespace RLIMIT_NPROC limits them.
WATCH_PROCESSES_S = 0.05
#: How often the server reads a step's CPU time, where the job has a CPU limit per step.
WATCH_CPU_S = 0.1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: The modules a server imports and warms up (main's arguments); a spawned child warms up the same ones.
PRELOADED: list[str] = []
#: Set once per server by main(): the paths every child may read, and the pids cgroup if any.
READ_ONLY: list[str] = []
CGROUP: processes.PidsCgroup | None = None
SPAWN = False


class EventLines:
    """The child's events channel, cut into lines, up to the most a job can honestly write.

    The sandbox's own lines (confined, step started) come first and are kept even when a flood of
    forged ones arrives in the same read: past the bound, the lines beyond it are dropped and the
    channel is taken as flooded (read no more), so a flood can neither hide the child's confinement
    from the server's clocks nor cost the server its time."""

    def __init__(self, most: int):
        self.most = most
        self.read = 0
        self.flooded = False
        self._partial = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The whole lines `chunk` completes, at most up to the bound."""
        if self.flooded:
            return []
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        room = self.most - self.read
        if len(self._partial) > MAX_EVENT_LINE or len(lines) > room:
            self.flooded = True  # a line no event is that long, or more events than the job's steps need
            self._partial = b""
            lines = lines[:max(0, room)]
        self.read += len(lines)
        return [line.decode("utf-8", "replace") for line in lines]


class Steps:
    """Handed to the target: tells the supervising server which step is running. The learner's code can
    find the descriptor and write too: the server believes only the next step the grader scheduled."""

    def __init__(self, fd: int):
        self._fd = fd

    def start(self, name: str) -> None:
        os.write(self._fd, f"S {name}\n".encode())

    def done(self, name: str) -> None:
        os.write(self._fd, f"D {name}\n".encode())

    def close(self) -> None:
        """Close the channel in a process that will not announce steps (a copy of the child running one
        exercise): the learner's code there cannot announce any either."""
        fd, self._fd = self._fd, -1
        try:
            os.close(fd)
        except OSError:
            pass


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: process groups still apply


def _drop_inherited_files(keep: set[int]) -> None:
    """Point every inherited file descriptor but `keep` at /dev/null: the files stay out of reach, and the numbers
    stay taken. Python objects of the server's (a font file matplotlib holds open) still own them, and one
    garbage-collected later would close whatever file had reused its number: the child's own, mid-write."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in range(3, 256):
            if fd not in keep and fd != null:
                try:
                    os.fstat(fd)
                except OSError:
                    continue  # not open: nothing to hide
                try:
                    os.dup2(null, fd, inheritable=False)
                except OSError:
                    pass
    finally:
        os.close(null)


def _child(request: dict[str, Any], out_w: int, err_w: int, events_w: int, keep: set[int],
           read_only: list[str], in_cgroup: bool) -> None:
    """In the child (forked, or a fresh `--once` process). Never returns."""
    code = 70
    try:
        try:
            os.setpgid(0, 0)
        except PermissionError:
            pass  # a spawned child already leads its own session and group
        _drop_inherited_files(keep)
        limits = request["limits"]
        workdir = request["workdir"]
        confine.clean_environment(workdir, request.get("env") or {}, confine.uses_gpu(request))
        os.chdir(workdir)
        if (out_w, err_w) != (1, 2):
            confine.redirect_stdio(out_w, err_w)
        # one byte past what the server keeps, so it still sees that output was cut
        keep = int(limits.get("output_kb", 64)) * 1024 + 1
        sys.stdout, sys.stderr = streams.text_stream(1, keep), streams.text_stream(2, keep)
        confine.apply_rlimits(limits, confine.uses_gpu(request), request.get("steps") or ())
        try:
            confinement = (["pids-cgroup"] if in_cgroup else []) + confine.confine(request, read_only, in_cgroup)
        except confine.Refused as refusal:
            os.write(events_w, f"R {refusal}\n".encode())
            code = REFUSED_EXIT
            raise SystemExit(REFUSED_EXIT)
        os.write(events_w, f"C {','.join(confinement)}\n".encode())
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


def _job_cpu() -> float:
    """CPU seconds of the running job: every process below this server (one job at a time: all the job's,
    orphans included), with what each has reaped, plus what this server reaped. Only grows while a job runs."""
    reaped = os.times()
    return sum(_cpu_of(p) for p in processes.descendants(os.getpid())) + reaped.children_user + reaped.children_system


def _cpu_of(pid: int) -> float:
    """CPU seconds of a running process, its threads and the children it has reaped (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


def _signal_job(pid: int) -> None:
    """SIGKILL the job's child, its process group and every other process it started; reap none.

    Parents before their children: a process killed before its parent wakes the parent (a shell waiting
    for its `sleep`), which could run its next command (`touch FILE`) before its own SIGKILL came."""
    for kill in (os.kill, os.killpg):  # the child, then its group (which outlives a reaped child)
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    seen = {pid}
    # the walk lists every parent before its children; the cgroup's members, any the walk missed, after
    for target in [*processes.descendants(os.getpid()), *(CGROUP.members() if CGROUP is not None else ())]:
        if target in seen:
            continue
        seen.add(target)
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _kill_leftovers() -> None:
    """After a job has been reaped: everything it left behind, detached or not, is killed and reaped."""
    if CGROUP is not None:
        CGROUP.kill_all()
    processes.kill_descendants()


def _start(request: dict[str, Any], out_w: int, err_w: int, events_w: int) -> int:
    """Fork (or spawn) the job's child; return its pid, which is also its process group."""
    if not SPAWN:
        pid = os.fork()
        if pid == 0:
            _child(request, out_w, err_w, events_w, {out_w, err_w, events_w}, READ_ONLY, CGROUP is not None)
        return pid
    once = dict(request, _events_fd=events_w, _read_only=READ_ONLY, _cgroup=CGROUP is not None, _modules=PRELOADED)
    child = subprocess.Popen([sys.executable, "-m", "grader.sandbox.server", "--once"], stdin=subprocess.PIPE,
                             stdout=out_w, stderr=err_w, pass_fds=(events_w,), start_new_session=True)
    assert child.stdin is not None
    child.stdin.write(json.dumps(once).encode())
    child.stdin.close()
    child.returncode = 0  # the server's own waitpid reaps it; keep Popen from trying again
    return child.pid


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when pid ends (Linux ≥ 5.3), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def prepare(request: dict[str, Any]) -> None:
    """Run the job's `prepare` here, before the fork: what it loads, every child of the run inherits.

    A failure is left to the child, which loads for itself. Where something new was loaded, it is frozen
    like the warm-up, so the children's garbage collections leave its pages alone."""
    chosen = request.get("prepare")
    if not chosen or SPAWN:
        return
    try:
        module_name, _, function_name = chosen[0].partition(":")
        if getattr(importlib.import_module(module_name), function_name)(chosen[1]):
            gc.freeze()
    except Exception:
        pass


def run_job(request: dict[str, Any], on_step_done: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run one job to its end. `on_step_done(name)` hears as it happens, once, that the child finished a
    step named in `request["stream_steps"]`, so the grader can start on it while the child goes on.
    Only those names: the child's events are the learner's too, and a flood of forged ones, long or
    many, must not fill the reply pipe while the grader is busy (the server would stop watching)."""
    limits = request["limits"]
    cap = int(limits["output_kb"]) * 1024
    if CGROUP is not None:
        CGROUP.set_max(int(limits["processes"]))
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    events_r, events_w = os.pipe()
    started = time.monotonic()
    pid = _start(request, out_w, err_w, events_w)
    for fd in (out_w, err_w, events_w):
        os.close(fd)

    kept = {out_r: bytearray(), err_r: bytearray()}
    truncated = False
    steps_done: list[str] = []
    to_relay = set(request.get("stream_steps") or ()) if on_step_done is not None else set()
    current: str | None = None
    # Until the child says it is confined (a fork: milliseconds; a spawned interpreter: seconds of
    # importing torch), it runs only the sandbox's own code: the learner's clock starts after.
    step_deadline = total_deadline = started + STARTUP_S
    stopped: str | None = None
    confinement: list[str] | None = None
    refusal: str | None = None
    watch = False
    selector = selectors.DefaultSelector()
    for fd in (out_r, err_r, events_r):
        selector.register(fd, selectors.EVENT_READ)
    open_fds = {out_r, err_r, events_r}
    pidfd = _pidfd(pid)
    if pidfd is not None:
        selector.register(pidfd, selectors.EVENT_READ)
    ended_at: float | None = None  # when the child itself ended; its leftovers are killed from then on
    step_cpu = limits.get("step_cpu_s")
    step_cpu_from = 0.0  # the job's CPU seconds when the current step started
    # The clocks are the server's: a step starts only when the child announces the next step the
    # grader scheduled (each once, in order), so the learner's code, which can write on the events
    # channel too, cannot restart its own clock with a forged line; a forged "done" stops no clock.
    schedule = [str(name) for name in request.get("steps") or ()]
    events = EventLines(EVENTS_PER_STEP * (len(schedule) + 2) if schedule else UNSCHEDULED_EVENTS)
    started_steps: list[str] = []
    cpu_cap = confine.total_cpu_seconds(limits, schedule)
    cpu_from: float | None = None  # the job's CPU seconds when the child said it was confined
    while open_fds:
        timeout = min(step_deadline, total_deadline) - time.monotonic()
        if ended_at is None:
            if timeout <= 0:
                stopped = "timeout"
            elif step_cpu is not None and started_steps and _job_cpu() - step_cpu_from > float(step_cpu):
                stopped = "step_cpu"
            elif cpu_cap is not None and cpu_from is not None and _job_cpu() - cpu_from > cpu_cap:
                stopped = "cpu"
            elif watch and len(processes.descendants(os.getpid())) > int(limits["processes"]):
                stopped = "processes"
            if stopped:
                _signal_job(pid)
                break
            wait = min(timeout, WATCH_PROCESSES_S) if watch else timeout
            if (step_cpu is not None and started_steps) or (cpu_cap is not None and cpu_from is not None):
                wait = min(wait, WATCH_CPU_S)
        else:
            _signal_job(pid)  # whatever still holds the output pipes open goes too
            if time.monotonic() - ended_at > 5:
                break
            wait = 0.01
        for key, _ in selector.select(wait):
            fd = key.fd
            if fd == pidfd:
                selector.unregister(pidfd)
                ended_at = time.monotonic()
                _signal_job(pid)
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                selector.unregister(fd)
                open_fds.discard(fd)
                continue
            if fd == events_r:
                lines = events.feed(chunk)
                if events.flooded:
                    # learner code flooding the channel: it is read no more (the server's time is not the
                    # child's to spend); once the pipe is full the child blocks, and its clock stops it.
                    selector.unregister(events_r)
                    open_fds.discard(events_r)
                for line in lines:
                    kind, _, name = line.partition(" ")
                    if kind == "S" and confinement is not None and _next_step(schedule, started_steps, name):
                        started_steps.append(name)
                        current = name
                        step_deadline = time.monotonic() + float(limits["step_s"])
                        step_cpu_from = _job_cpu() if step_cpu is not None else 0.0
                    elif kind == "D" and current is not None and name == current:
                        steps_done.append(name)
                        if name in to_relay:
                            to_relay.discard(name)
                            on_step_done(name)  # type: ignore[misc]
                        current = None  # the step's clocks run on until the next step starts
                    elif kind == "C" and confinement is None and not started_steps:
                        confinement = [c for c in name.split(",") if c]  # only before the target runs
                        watch = not {"pids-cgroup", "nproc-per-namespace", "nproc-per-user"} & set(confinement)
                        now = time.monotonic()
                        step_deadline, total_deadline = now + float(limits["step_s"]), now + float(limits["total_s"])
                        cpu_from = _job_cpu() if cpu_cap is not None else None
                    elif kind == "R" and confinement is None:
                        refusal = name
            else:
                room = cap - len(kept[fd])
                if room > 0:
                    kept[fd] += chunk[:room]
                if len(chunk) > room:
                    truncated = True
    selector.close()
    for fd in (out_r, err_r, events_r) if pidfd is None else (out_r, err_r, events_r, pidfd):
        try:
            os.close(fd)
        except OSError:
            pass
    _, status, usage = os.wait4(pid, 0)
    _signal_job(pid)
    _kill_leftovers()
    exit_code = os.waitstatus_to_exitcode(status)
    sig = -exit_code if exit_code < 0 else None
    cpu_s = usage.ru_utime + usage.ru_stime
    reason = None
    if stopped:
        reason = stopped
    elif refusal is not None and exit_code == REFUSED_EXIT:
        reason = "refused"
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= confine.cpu_seconds(limits, schedule)):
        reason = "cpu"
    elif sig is not None:
        reason = "signal"
    elif exit_code != 0 or current is not None:
        reason = "exit"
    return {
        "exit_code": None if sig else exit_code, "signal": sig, "steps_done": steps_done,
        "failed_step": current, "reason": reason,
        "stdout": kept[out_r].decode("utf-8", "replace"),
        "stderr": refusal if refusal is not None else kept[err_r].decode("utf-8", "replace"),
        "output_truncated": truncated, "wall_s": time.monotonic() - started,
        "confinement": list(confine.BASE) + (confinement or []),
    }


def _next_step(schedule: list[str], started: list[str], name: str) -> bool:
    """Whether `name` may start now: the next step of the schedule; without one, any step not started yet."""
    if schedule:
        return len(started) < len(schedule) and schedule[len(started)] == name
    return name not in started


def _relay_to(replies: Any) -> Callable[[str], None]:
    def relay(step: str) -> None:
        replies.write(json.dumps({"step_done": step}) + "\n")
    return relay


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


def run_once() -> None:
    """`--once`: this process is the job's child; the request comes on stdin."""
    request = json.loads(sys.stdin.read())
    warm_up(list(request["_modules"]))  # warmed as a forked child's server was: the same results
    events = int(request["_events_fd"])
    _child(request, 1, 2, events, {events}, request["_read_only"], bool(request.get("_cgroup")))


def main(argv: list[str]) -> None:
    global SPAWN
    if argv[:1] == ["--once"]:
        run_once()
        return
    template = argv[:1] == ["--template"]
    SPAWN = argv[:1] == ["--spawn"]
    modules = argv[1:] if SPAWN or template else argv
    PRELOADED[:] = modules
    # torch.cuda.is_available() (which libraries call while warming up) must not initialise the driver
    # here: a child forked after that cannot use CUDA ("initialization error"). NVML answers instead.
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    if not SPAWN:
        gc.disable()  # importing torch and matplotlib makes objects, not garbage: collecting meanwhile cost 0.3 s
        warm_up(modules)
        gc.freeze()  # children's collections leave the warm objects (and their pages) alone: fewer copies on write
        gc.enable()
    if template:
        fork_servers()
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # nothing but replies on the reply channel
    serve(replies, sys.stdin)


def serve(replies: Any, requests: Any) -> None:
    """Answer jobs, one JSON line each, until `requests` ends; then exit. Never returns."""
    global READ_ONLY, CGROUP
    _become_subreaper()
    READ_ONLY = paths.read_only()
    CGROUP = processes.PidsCgroup.create(f"torchgrade-{os.getpid()}")
    cpu = processes.CpuShare.create(f"torchgrade-{os.getpid()}")
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    replies.write(json.dumps({"ready": True, "mode": "spawn" if SPAWN else "fork"}) + "\n")
    try:
        for line in requests:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                prepare(request)
                reply = run_job(request, _relay_to(replies) if request.get("stream_steps") else None)
            except Exception as exc:  # a broken request; the server keeps serving
                reply = {"exit_code": None, "signal": None, "steps_done": [], "failed_step": None,
                         "reason": "crash", "stdout": "", "stderr": f"fork server: {exc!r}",
                         "output_truncated": False, "wall_s": 0.0}
            replies.write(json.dumps(reply) + "\n")
    finally:
        if CGROUP is not None:
            CGROUP.remove()
        if cpu is not None:
            cpu.remove()
    replies.flush()
    os._exit(0)  # skip finalising torch's interpreter state: seconds, and nothing left to save


def fork_servers() -> None:
    """`--template`: the warm process fork servers are forked from, so a grader pays torch's import once.

    It never runs a job or anything of a learner's. On its control socket (fd 0) each request is one
    message with two file descriptors, the new server's request and reply pipes, and a folder for it to
    work in; the reply is the new server's pid. The new server is this process as it was after the
    warm-up (the template keeps no state from one fork to the next), and serves its pipes as a server
    started on its own would. Exits when the grader closes the socket. Never returns."""
    control = socket.socket(fileno=os.dup(0))
    os.dup2(2, 0)
    os.dup2(2, 1)
    control.sendall(json.dumps({"ready": True, "mode": "template"}).encode() + b"\n")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 2)
        except OSError:
            message, fds = b"", []
        if not message:  # the grader is gone, or closed it; its servers notice their own pipes closing
            _reap()  # servers that already ended: their time then counts as this process's children's
            shutil.rmtree(os.getcwd(), ignore_errors=True)
            os._exit(0)
        # Servers that ended are reaped only now: the grader opened the last one's pidfd before asking
        # again, so no pid it follows is freed for reuse while it may still act on it.
        _reap()
        try:
            request = json.loads(message)
            if len(fds) != 2:
                raise ValueError(f"expected 2 file descriptors, got {len(fds)}")
            pid = os.fork()
            if pid == 0:
                _become_forked_server(control, fds, str(request["home"]))
            reply: dict[str, Any] = {"pid": pid}
        except Exception as exc:
            reply = {"error": repr(exc)}
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps(reply).encode() + b"\n")


def _become_forked_server(control: Any, fds: list[int], home: str) -> None:
    """In a server just forked from the template: its own pipes, folder and signal handling. Never returns."""
    try:
        control.close()
        requests_fd, replies_fd = fds
        os.dup2(requests_fd, 0)
        replies = os.fdopen(os.dup(replies_fd), "w", buffering=1)
        os.close(requests_fd)
        os.close(replies_fd)
        os.chdir(home)
        os.environ["HOME"] = home
        requests = os.fdopen(0, "r", encoding="utf-8", closefd=False)
    except BaseException:
        os._exit(70)
    serve(replies, requests)


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass

if __name__ == "__main__":
    main(sys.argv[1:])
