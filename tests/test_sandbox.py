"""The sandbox itself, one promise per test: what a job's child can read, write, reach and leave behind.

Most tests run a snippet in a confined child through ForkServer + Job directly
(`grader.sandbox.selftest:run_source`), print what happened as JSON, and assert on it; the
grading-level promises (scores) are in test_attacks.py.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from grader.sandbox import ForkServer, Job, Limits, SandboxRefused
from grader.sandbox import landlock, policy, processes
from test_sandbox_course import EXERCISES, submission, summary, write_course

REPO = Path(__file__).resolve().parents[1]
TARGET = "grader.sandbox.selftest:run_source"
HAS_LANDLOCK = landlock.abi() >= 1
needs_landlock = pytest.mark.skipif(not HAS_LANDLOCK, reason="this kernel has no Landlock")


def run(server: ForkServer, source: str, tmp_path: Path, limits: Limits = Limits(), readable=(), **argument):
    """Run source in a confined child; return (outcome, the JSON it printed last, or None)."""
    work = Path(tmp_path) / f"job{time.monotonic_ns()}"
    work.mkdir()
    outcome = server.run(Job(TARGET, {"source": textwrap.dedent(source), **argument}, workdir=str(work),
                             limits=limits, readable=tuple(str(r) for r in readable)))
    lines = [line for line in outcome.stdout.splitlines() if line.startswith("{")]
    return outcome, (json.loads(lines[-1]) if lines else None)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_course(tmp_path_factory.mktemp("course"))


def _server_with(**switches: str) -> ForkServer:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in switches.items():
            patch.setenv(name, value)
        return ForkServer(("grader.child",)).start()


@pytest.fixture(scope="module")
def bare_server():
    """A server with none of the optional confinements: no Landlock, no cgroup, no user namespace, no own uid."""
    server = _server_with(TORCHGRADE_PRETEND_NO_LANDLOCK="1", TORCHGRADE_NO_CGROUP="1", TORCHGRADE_NO_USERNS="1",
                          TORCHGRADE_NO_OWN_USER="1")
    yield server
    server.close()


@needs_landlock
def test_the_outcome_reports_every_confinement_applied(server, tmp_path):
    outcome, _ = run(server, "pass", tmp_path)
    assert outcome.ok
    sockets = "seccomp-no-sockets"  # a job that does not ask for the GPU gets no GPU relaxation, GPU machine or not
    assert {"process-group", "subreaper", "rlimits", "clean-environment", "no-capabilities", "landlock-fs",
            sockets, "seccomp-no-threads"} <= set(outcome.confinement)
    if landlock.abi() >= 4:
        assert "landlock-tcp" in outcome.confinement
    if landlock.abi() >= 6:
        assert "landlock-scope" in outcome.confinement


def test_a_job_that_does_not_use_cuda_may_start_no_thread_but_may_fork(server, tmp_path):
    outcome, _ = run(server, """
import os, threading
try:
    threading.Thread(target=print).start()
    raise SystemExit("a thread started")
except RuntimeError as exc:
    assert "can't start new thread" in str(exc), exc
pid = os.fork()
if pid == 0:
    os._exit(7)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7
""", tmp_path)
    assert outcome.ok, outcome


READS = """
import json, os
def can_read(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        return True
    except OSError:
        return False
print(json.dumps({path: can_read(path) for path in argument["paths"]}))
"""


@needs_landlock
def test_the_child_reads_python_grader_and_its_own_inputs_only(server, tmp_path):
    import torch
    import grader
    secret_dir = tmp_path / "another_student"
    secret_dir.mkdir()
    (secret_dir / "activations.py").write_text("def sigmoid(x): ...\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "activations.py").write_text("x = 1\n")
    allowed = [os.__file__, torch.__file__, grader.__file__, str(Path(grader.__file__).parent / "sandbox"),
               str(mine / "activations.py"), "/dev/urandom"]
    denied = [str(REPO / "solutions"), str(REPO / "exercises"), str(REPO / "course.yaml"), str(REPO),
              str(secret_dir / "activations.py"), str(tmp_path), os.path.expanduser("~"), "/etc/passwd",
              "/etc", "/", "/tmp", f"/proc/{os.getpid()}/cwd", f"/proc/{os.getpid()}/environ",
              f"/proc/{os.getpid()}/cmdline", "/proc/1/environ", "/proc"]
    outcome, seen = run(server, READS, tmp_path, readable=[mine], paths=allowed + denied)
    assert outcome.ok, outcome.stderr
    assert {p: seen[p] for p in allowed} == {p: True for p in allowed}
    assert {p: seen[p] for p in denied} == {p: False for p in denied}


WRITES = """
import json, os
def attempt(action):
    try:
        action()
        return True
    except OSError:
        return False
paths = argument["paths"]
print(json.dumps({
    "own folder": attempt(lambda: open("mine.txt", "w").write("ok")),
    "own folder, nested": attempt(lambda: (os.makedirs("a/b"), open("a/b/c.txt", "w").write("ok"))),
    "/dev/null": attempt(lambda: open("/dev/null", "w").write("ok")),
    "beside its folder": attempt(lambda: open(paths["beside"], "w").write("no")),
    "its own submission": attempt(lambda: open(paths["submission"], "w").write("no")),
    "the grader package": attempt(lambda: open(paths["grader"], "a").write("")),
    "/tmp": attempt(lambda: open("/tmp/torchgrade-sandbox-test", "w").write("no")),
    "a FIFO": attempt(lambda: os.mkfifo("fifo")),
    "a symlink": attempt(lambda: os.symlink(paths["beside"], "link")),
    "a hard link out": attempt(lambda: os.link(paths["submission"], "hard")),
}))
"""


@needs_landlock
def test_the_child_writes_only_inside_its_own_folder(server, tmp_path):
    import grader
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "activations.py").write_text("x = 1\n")
    paths = {"beside": str(tmp_path / "beside.txt"), "submission": str(mine / "activations.py"),
             "grader": str(Path(grader.__file__).parent / "__init__.py")}
    outcome, wrote = run(server, WRITES, tmp_path, readable=[mine], paths=paths)
    assert outcome.ok, outcome.stderr
    assert wrote == {"own folder": True, "own folder, nested": True, "/dev/null": True, "beside its folder": False,
                     "its own submission": False, "the grader package": False, "/tmp": False, "a FIFO": False,
                     "a symlink": False, "a hard link out": False}
    assert not (tmp_path / "beside.txt").exists()
    assert (mine / "activations.py").read_text() == "x = 1\n"
    assert not Path("/tmp/torchgrade-sandbox-test").exists()


NETWORK = """
import json, socket
def attempt(family, kind, address):
    try:
        with socket.socket(family, kind) as s:
            s.settimeout(1)
            s.connect(address)
            s.sendall(b"leak")
        return True
    except OSError as exc:
        return False
port, unix = argument["port"], argument["unix"]
print(json.dumps({
    "tcp": attempt(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", port)),
    "udp": attempt(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", port)),
    "tcp6": attempt(socket.AF_INET6, socket.SOCK_STREAM, ("::1", port)),
    "unix": attempt(socket.AF_UNIX, socket.SOCK_STREAM, unix),
    "dns": attempt(socket.AF_INET, socket.SOCK_DGRAM, ("8.8.8.8", 53)),
}))
"""


def test_the_child_has_no_network(server, tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "sock"))
    unix.listen()
    unix.settimeout(0.2)
    try:
        outcome, reached = run(server, NETWORK, tmp_path, readable=[tmp_path], port=listener.getsockname()[1],
                               unix=str(tmp_path / "sock"))
        assert outcome.ok, outcome.stderr
        assert reached == {"tcp": False, "udp": False, "tcp6": False, "unix": False, "dns": False}
        for sock in (listener, unix):
            with pytest.raises(socket.timeout):
                sock.accept()
    finally:
        listener.close()
        unix.close()


SIGNALS = """
import json, os, signal, ctypes
def attempt(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False
grader = argument["grader"]
child = os.fork()
if child == 0:
    import time
    time.sleep(30)
    os._exit(0)
print(json.dumps({
    "its own child": attempt(child, signal.SIGKILL),
    "the fork server": attempt(os.getppid(), signal.SIGURG),
    "the grader": attempt(grader, signal.SIGURG),
    "ptrace the fork server": ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0) == 0,
}))
"""


@needs_landlock
def test_the_child_signals_and_traces_nothing_outside_its_job(server, tmp_path):
    outcome, done = run(server, SIGNALS, tmp_path, grader=os.getpid())
    assert outcome.ok, outcome.stderr
    assert done == {"its own child": True, "the fork server": False, "the grader": False,
                    "ptrace the fork server": False}


DETACHED = """
import os, time, subprocess, sys
job_r, job_w = os.pipe()                # only this process holds job_w: its end is the job's end
if os.fork() == 0:                      # a double fork, the grandchild in a new session
    os.close(job_w)
    os.setsid()
    if os.fork() == 0:
        open("grandchild.tmp", "w").write(str(os.getpid()))
        os.rename("grandchild.tmp", "grandchild.pid")
        os.read(job_r, 1)               # b"" once the job has ended
        time.sleep(1.0)
        open("touched", "w").write("still alive")
    os._exit(0)
try:                                     # and the way a student would write it (exec is not allowed)
    shell = subprocess.Popen(["/bin/sh", "-c", "read -r _; sleep 1; touch touched-by-sh"], stdin=job_r,
                             start_new_session=True)
    open("shell.pid", "w").write(str(shell.pid))
    print("exec allowed")
except OSError:
    print("exec denied")
while not os.path.exists("grandchild.pid"):
    time.sleep(0.01)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("which", ["warm server", "bare server"])
def test_a_detached_process_dies_when_its_job_ends(which, server, bare_server, tmp_path):
    """`setsid()` + double fork, and a shell in its own session: dead and reaped when the job's reply comes,
    so neither ever writes the file it would write a second after the job's end."""
    chosen = server if which == "warm server" else bare_server  # pids cgroup, or the subreaper alone
    work_before = set(tmp_path.iterdir())
    outcome, _ = run(chosen, DETACHED, tmp_path)
    assert outcome.ok, outcome.stderr
    (work,) = set(tmp_path.iterdir()) - work_before
    assert _gone(int((work / "grandchild.pid").read_text()))
    if "exec allowed" in outcome.stdout:
        assert _gone(int((work / "shell.pid").read_text()))
    assert processes.descendants(chosen._process.pid) == []
    assert not (work / "touched").exists()
    assert not (work / "touched-by-sh").exists()


def test_a_jobs_processes_are_killed_parents_first(monkeypatch):
    """A process killed before its parent wakes the parent (a shell waiting for its `sleep`), which could run
    its next command before its own SIGKILL came: the job's tree is killed from the top down."""
    from grader.sandbox import server as fork_server
    killed: list[int] = []
    monkeypatch.setattr(fork_server.processes, "descendants", lambda pid: [3, 10, 2])  # 3's child 10, 10's child 2
    monkeypatch.setattr(fork_server, "CGROUP", None)
    monkeypatch.setattr(fork_server.os, "kill", lambda pid, sig: killed.append(pid))
    monkeypatch.setattr(fork_server.os, "killpg", lambda pid, sig: None)
    fork_server._signal_job(7)
    assert killed == [7, 3, 10, 2]


BOMB = """
import os, time
refused = 0
until = time.monotonic() + 1.5
while time.monotonic() < until:
    try:
        os.fork()                        # every copy goes on forking
    except OSError:
        refused += 1
        time.sleep(0.005)
print('{"refused": %d}' % refused)
"""


@pytest.mark.skipif(os.geteuid() != 0 and not Path("/sys/fs/cgroup").exists(), reason="needs a pids cgroup")
def test_a_fork_bomb_is_held_to_the_process_limit_and_the_server_survives(server, tmp_path):
    if "pids-cgroup" not in run(server, "pass", tmp_path)[0].confinement:
        pytest.skip("no pids cgroup on this machine")
    outcome, _ = run(server, BOMB, tmp_path, limits=Limits(processes=16, step_s=20))
    assert "refused" in outcome.stdout and '"refused": 0}' not in outcome.stdout  # forks were refused at the limit
    assert processes.descendants(server._process.pid) == []
    again, _ = run(server, "print('{\"alive\": 1}')", tmp_path)
    assert again.ok and '"alive": 1' in again.stdout


def test_without_cgroup_or_user_namespace_a_fork_bomb_is_stopped_by_count(bare_server, tmp_path):
    outcome, _ = run(bare_server, BOMB, tmp_path, limits=Limits(processes=16, step_s=20))
    assert outcome.reason == "processes"
    assert processes.descendants(bare_server._process.pid) == []
    again, _ = run(bare_server, "print('{\"alive\": 1}')", tmp_path)
    assert again.ok


NPROC = """
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
from grader.sandbox import confine
applied = confine.confine({"limits": {"processes": 5}, "workdir": sys.argv[2], "readable": []}, [sys.prefix, "/usr/lib"])
forked = 0
for _ in range(10):
    try:
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
        forked += 1
    except OSError:
        pass
print(json.dumps({"applied": applied, "forked": forked}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become another user")
def test_without_root_the_process_limit_counts_the_jobs_processes_only():
    """As a plain user (nobody, already running 20 processes) in its own user namespace, a job may
    fork exactly limit − 1 more: RLIMIT_NPROC counts that namespace, not the user's other processes."""
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no system python3 that another user can run")
    checkout = Path(__file__).resolve().parents[1]
    if any(not (folder.stat().st_mode & 0o001) for folder in [checkout, *checkout.parents]):
        pytest.skip("the checkout lies in a folder that user nobody cannot enter (e.g. a mktemp -d folder)")
    base = Path(tempfile.mkdtemp(prefix="torchgrade-nproc-"))  # pytest's tmp_path is private to root
    try:
        os.chmod(base, 0o755)
        work = base / "work"
        work.mkdir(mode=0o777)
        os.chmod(work, 0o777)
        (base / "nproc.py").write_text(NPROC)
        os.chmod(base / "nproc.py", 0o644)
        command = (f"for i in $(seq 20); do sleep 5 & done; {python} {base / 'nproc.py'} {REPO} {work}; "
                   f"kill $(jobs -p) 2>/dev/null")
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", command],
                              capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert done.stdout.strip(), done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if "user-namespace" not in report["applied"]:
        pytest.skip("user namespaces are disabled here")
    assert "nproc-per-namespace" in report["applied"]
    assert report["forked"] == 4


def test_memory_beyond_the_limit_cannot_be_allocated(server, tmp_path):
    source = """
    import torch
    small = torch.ones(64 * 1024 ** 2, dtype=torch.uint8)
    try:
        big = torch.ones(768 * 1024 ** 2, dtype=torch.uint8)
        print('{"big": "allocated"}')
    except (MemoryError, RuntimeError) as exc:
        print('{"big": "refused"}')
    """
    outcome, seen = run(server, source, tmp_path, limits=Limits(memory_mb=512))
    assert outcome.ok, outcome.stderr
    assert seen == {"big": "refused"}


@pytest.mark.parametrize("ignore_sigxcpu", [False, True])
def test_cpu_time_beyond_the_limit_stops_the_child(ignore_sigxcpu, server, tmp_path):
    source = ("import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n" if ignore_sigxcpu else "") + \
        "while True:\n    pass\n"
    outcome, _ = run(server, source, tmp_path, limits=Limits(cpu_s=1, step_s=30, total_s=30))
    assert outcome.reason == "cpu"  # not "timeout": the CPU limit stopped it, long before the 30 s wall clock


def test_a_busy_step_is_stopped_by_its_cpu_time_with_the_wall_clock_as_backstop(server, tmp_path):
    outcome, _ = run(server, "while True:\n    pass\n", tmp_path, limits=Limits(step_s=30, step_cpu_s=0.5, total_s=60))
    assert outcome.reason == "step_cpu" and outcome.failed_step == "source"  # not "timeout": the backstop did not


SPIN = """
import time
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
"""


def test_cpu_time_per_step_is_counted_from_the_steps_start(server, tmp_path):
    """Three steps of 0.4 CPU s each under a 0.6 s per-step limit all finish (1.2 s in all); 0.8 s in one does not."""
    def job(steps: dict[str, str]):
        work = tmp_path / f"job{time.monotonic_ns()}"
        work.mkdir()
        return server.run(Job("grader.sandbox.selftest:run_steps", {"steps": steps}, workdir=str(work),
                              limits=Limits(step_s=30, step_cpu_s=0.6)))
    three = job({"setup": SPIN, "a": "spin(0.4)", "b": "spin(0.4)", "c": "spin(0.4)"})
    assert three.ok, (three.reason, three.stderr)
    assert three.steps_done == ("setup", "a", "b", "c")
    one = job({"setup": SPIN, "a": "spin(0.4)", "b": "spin(0.8)"})
    assert one.reason == "step_cpu" and one.failed_step == "b"


def test_a_sleeping_step_uses_no_cpu_and_is_stopped_by_the_wall_clock(server, tmp_path):
    outcome, _ = run(server, "import time\ntime.sleep(60)\n", tmp_path, limits=Limits(step_s=1, step_cpu_s=10))
    assert outcome.reason == "timeout"
    assert outcome.signal == signal.SIGKILL  # stopped, not waited for: a finished sleep would exit 0


def test_wall_time_beyond_the_limit_kills_a_child_that_ignores_sigterm(server, tmp_path):
    source = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"
    outcome, _ = run(server, source, tmp_path, limits=Limits(step_s=1))
    assert outcome.reason == "timeout"
    assert outcome.failed_step == "source"
    assert outcome.signal == signal.SIGKILL  # killed although it ignores SIGTERM, not waited for


def test_a_file_cannot_grow_beyond_the_limit(server, tmp_path):
    source = """
    import errno
    try:
        with open("big.bin", "wb") as f:
            for _ in range(4):
                f.write(b"x" * (1 << 20))
        print('{"wrote": "all"}')
    except OSError as exc:
        print('{"wrote": "%s"}' % errno.errorcode[exc.errno])
    """
    outcome, seen = run(server, source, tmp_path, limits=Limits(file_mb=1))
    assert outcome.ok, outcome.stderr
    assert seen == {"wrote": "EFBIG"}


def test_twenty_megabytes_of_output_are_read_and_capped(server, tmp_path):
    source = "import sys\nfor _ in range(20):\n    sys.stdout.write('x' * (1 << 20) + '\\n')\nprint('{\"end\": 1}')\n"
    outcome, _ = run(server, source, tmp_path, limits=Limits(output_kb=64))
    assert outcome.ok
    assert outcome.output_truncated
    assert len(outcome.stdout) == 64 * 1024


def test_the_child_gets_a_clean_environment_and_its_own_folder(server, tmp_path, monkeypatch):
    monkeypatch.setenv("TEACHER_TOKEN", "s3cret")
    source = """
    import json, os, tempfile
    print(json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "tmp": tempfile.gettempdir()}))
    """
    outcome, seen = run(server, source, tmp_path)
    assert outcome.ok
    work = seen["cwd"]
    assert Path(work).parent == tmp_path
    from grader.sandbox.switches import GPU_ENVIRONMENT
    gpu = {name: os.environ[name] for name in GPU_ENVIRONMENT if name in os.environ}  # as the server started
    assert seen["env"] == {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
                           "PYTHONDONTWRITEBYTECODE": "1", "USER": "learner", "LOGNAME": "learner",
                           "HOME": work, "TMPDIR": f"{work}/tmp",
                           "MPLCONFIGDIR": f"{work}/.mpl", **gpu,
                           "CUDA_VISIBLE_DEVICES": "", "HIP_VISIBLE_DEVICES": "", "ROCR_VISIBLE_DEVICES": ""}
    assert seen["tmp"] == f"{work}/tmp"


def test_the_gpu_drivers_whereabouts_reach_the_child_and_nothing_else_does(tmp_path, monkeypatch):
    """On a GPU machine LD_LIBRARY_PATH names the driver and CUDA_VISIBLE_DEVICES the teacher's choice of
    GPUs: a child without them fails to start CUDA, or uses GPUs it was not given."""
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/local/nvidia/lib64")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.setenv("TEACHER_TOKEN", "s3cret")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    source = """
    import json, os
    print(json.dumps(dict(os.environ)))
    """
    with ForkServer() as fresh:
        outcome, env = run(fresh, source, tmp_path)
    assert outcome.ok, outcome.stderr
    assert env["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64"
    assert env["CUDA_VISIBLE_DEVICES"] == ""  # this job does not use the GPU: it sees none
    assert "TEACHER_TOKEN" not in env and "PYTHONPATH" not in env


@pytest.mark.parametrize("gpu_job, visible", [(True, "1"), (False, "")])
def test_only_a_job_that_uses_the_gpu_sees_the_teachers_choice_of_gpus(gpu_job, visible, tmp_path, monkeypatch):
    from grader.sandbox import confine
    environment = {"CUDA_VISIBLE_DEVICES": "1", "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64", "SECRET": "x"}
    monkeypatch.setattr(os, "environ", environment)  # clean_environment rewrites the process's own
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    confine.clean_environment(str(tmp_path), {}, gpu_job)
    assert environment["CUDA_VISIBLE_DEVICES"] == visible
    assert environment.get("HIP_VISIBLE_DEVICES", "") == ""
    assert environment["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64" and "SECRET" not in environment


def test_spawn_mode_gives_the_same_results_as_fork(plans, server, tiny, tmp_path):
    from grader.entry import PRELOAD
    from grader.run import grade_submission
    folder = tmp_path / "student"
    folder.mkdir()
    for name, text in submission().items():
        (folder / name).write_text(text)
    plan = plans(tuple(EXERCISES), True, tiny)
    forked = grade_submission(plan, folder, server, tmp_path)
    with ForkServer(PRELOAD, mode="spawn") as spawner:
        spawned = grade_submission(plan, folder, spawner, tmp_path)
    assert spawned.to_json() == forked.to_json()
    assert spawned.details["confinement"] == forked.details["confinement"]


def test_the_start_method_can_be_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("TORCHGRADE_START", "spawn")
    assert ForkServer().mode == "spawn"
    monkeypatch.setenv("TORCHGRADE_START", "fork")
    assert ForkServer().mode == "fork"


def test_without_landlock_warn_grades_with_the_same_scores(plans, server, bare_server, tiny, tmp_path):
    from grader.run import grade_submission
    folder = tmp_path / "student"
    folder.mkdir()
    for name, text in submission().items():
        (folder / name).write_text(text)
    plan = plans(tuple(EXERCISES), True, tiny)
    confined = grade_submission(plan, folder, server, tmp_path)
    bare = grade_submission(plan, folder, bare_server, tmp_path)
    assert bare.to_json() == confined.to_json()
    assert not [c for c in bare.details["confinement"] if c.startswith("landlock")]


def test_without_landlock_refuse_refuses_in_the_child_too(plans, bare_server, tmp_path):
    from grader.run import grade_submission
    refusing = write_course(tmp_path / "course", policy="refuse")
    folder = tmp_path / "student"
    folder.mkdir()
    for name, text in submission().items():
        (folder / name).write_text(text)
    with pytest.raises(SandboxRefused, match="Landlock is required"):
        grade_submission(plans(tuple(EXERCISES), True, refusing), folder, bare_server, tmp_path)


def test_without_landlock_the_command_line_refuses_before_grading(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from grader.cli import main
    monkeypatch.setenv("TORCHGRADE_PRETEND_NO_LANDLOCK", "1")
    write_course(tmp_path / "course", policy="refuse")
    student = tmp_path / "student"
    student.mkdir()
    for name, text in submission().items():
        (student / name).write_text(text)
    refused = CliRunner().invoke(main, ["grade", str(student), "--out", str(tmp_path / "out"),
                                        "--course", str(tmp_path / "course" / "course.yaml")])
    assert refused.exit_code == 2
    assert policy.REFUSAL in refused.output
    assert not (tmp_path / "out").exists()


def test_without_landlock_the_command_line_warns_once(tmp_path, monkeypatch, capsys):
    from grader.cli import _sandbox_policy
    monkeypatch.setenv("TORCHGRADE_PRETEND_NO_LANDLOCK", "1")
    _sandbox_policy(write_course(tmp_path / "course", policy="warn"))
    assert capsys.readouterr().err.count(policy.WARNING) == 1
    monkeypatch.delenv("TORCHGRADE_PRETEND_NO_LANDLOCK")
    if HAS_LANDLOCK:
        _sandbox_policy(write_course(tmp_path / "course", policy="warn"))
        assert capsys.readouterr().err == ""


@pytest.mark.cuda
def test_cuda_works_inside_the_sandbox(server, tmp_path):
    """The device nodes are let through Landlock, and the memory limit is one CUDA can live with."""
    source = """
    import torch
    x = torch.arange(4.0, device="cuda")
    print('{"sum": %g, "device": "%s"}' % ((x * 2).sum().item(), x.device.type))
    """
    work = tmp_path / "cuda-job"
    work.mkdir()
    outcome = server.run(Job(TARGET, {"source": textwrap.dedent(source)}, workdir=str(work), gpu=True))
    assert outcome.ok, outcome.stderr
    seen = json.loads([line for line in outcome.stdout.splitlines() if line.startswith("{")][-1])
    assert seen == {"sum": 12.0, "device": "cuda"}
    assert "landlock-fs" in outcome.confinement or not HAS_LANDLOCK


def test_a_course_inside_a_readable_folder_is_pointed_out(tmp_path):
    import grader
    assert policy.exposure(tmp_path) is None
    inside = Path(grader.__file__).resolve().parent / "sandbox"
    assert "lies inside" in policy.exposure(inside)


def test_on_a_gpu_machine_a_child_may_listen_on_a_unix_socket_but_connect_to_nothing():
    """What the CUDA driver needs (its own abstract socket), and no more: no network, no other process's socket."""
    from grader.sandbox import seccomp
    if not seccomp.supported():
        pytest.skip("seccomp filters are Linux x86_64/aarch64 only")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(f"\0torchgrade-test-{os.getpid()}")
    listening.listen()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        seen = []
        try:
            seccomp.deny_sockets(allow_local=True)
            own = socket.socket(socket.AF_UNIX)
            own.bind(f"\0torchgrade-child-{os.getpid()}")
            own.listen()
            packets = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
            packets.bind(f"\0torchgrade-child-packets-{os.getpid()}")
            packets.listen()
            seen.append("listen")
            for family, address in ((socket.AF_UNIX, f"\0torchgrade-test-{os.getppid()}"),):
                try:
                    socket.socket(family).connect(address)
                    seen.append("connect")
                except OSError:
                    pass
            try:  # a datagram socket could sendto() any process's socket without connect()
                socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                seen.append("datagram socket")
            except OSError:
                pass
            for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK):
                try:
                    socket.socket(family, socket.SOCK_RAW if family == socket.AF_NETLINK else socket.SOCK_STREAM)
                    seen.append(f"socket {family.name}")
                except OSError:
                    pass
        finally:
            os.write(write_fd, json.dumps(seen).encode())
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    seen = json.loads(os.read(read_fd, 4096))
    listening.close()
    assert seen == ["listen"]


def test_a_steps_cpu_time_counts_the_processes_it_started(server, tmp_path):
    """Busy children that the step never waits for are counted too, not only the wall clock's backstop."""
    source = """
    import os, time
    for _ in range(3):
        if os.fork() == 0:
            while True:
                pass
    time.sleep(60)
    """
    outcome, _ = run(server, source, tmp_path, limits=Limits(step_s=20, step_cpu_s=1.0, total_s=60))
    assert outcome.reason == "step_cpu"  # not "timeout": the busy children's CPU time stopped it


def test_a_jobs_prepare_runs_in_the_server_so_the_child_inherits_what_it_loads(tmp_path):
    from grader import wire
    tasks = tmp_path / "tasks.data"
    wire.dump({"relu": {"module": "activations", "n": 1}}, tasks)
    source = """
    import json, os
    import grader.child as child
    path = os.environ["TASKS"]
    held = path in child._TASKS
    read_now = child.load_tasks(path)
    print(json.dumps({"inherited": held, "read_in_child": read_now, "tasks": child._TASKS[path][1]}))
    """

    def job(prepare):
        work = tmp_path / f"job{time.monotonic_ns()}"
        work.mkdir()
        outcome = server.run(Job(TARGET, {"source": textwrap.dedent(source)}, workdir=str(work), readable=(str(tasks),),
                                 env={"TASKS": str(tasks)}, prepare=prepare))
        assert outcome.ok, outcome.stderr
        return json.loads(outcome.stdout.strip().splitlines()[-1])

    with ForkServer(("grader.child",)) as server:
        prepared = ("grader.child:load_tasks", str(tasks))
        first = job(prepared)
        assert first == {"inherited": True, "read_in_child": False, "tasks": {"relu": {"module": "activations", "n": 1}}}
        wire.dump({"relu": {"module": "activations", "n": 2}}, tasks)  # a new plan at the same path
        os.utime(tasks, ns=(time.time_ns() + 10**9,) * 2)
        assert job(prepared)["tasks"]["relu"]["n"] == 2  # read again, not the old copy
        assert job(None) == {"inherited": True, "read_in_child": False, "tasks": {"relu": {"module": "activations", "n": 2}}}
        wire.dump({"relu": {"module": "activations", "n": 3}}, tasks)
        os.utime(tasks, ns=(time.time_ns() + 2 * 10**9,) * 2)
        unprepared = job(None)  # no prepare: the child sees the change and reads for itself
        assert unprepared["read_in_child"] and unprepared["tasks"]["relu"]["n"] == 3
        assert job(("grader.child:load_tasks", str(tmp_path / "missing")))["read_in_child"]  # a failed prepare: the child reads
