"""Hostile submissions against what graded code shares with the grader: identity, limits, IPC, keys, metadata.

Written as tests/test_attacks.py writes them: the honest-but-wrong submission plus code that tries
something, and switches sigmoid to the right answer when it got through, so a breach changes the
score. Each test asserts the exact check-by-check result of the honest wrong answer, and then what
must be left as it was outside the child: the fork server's limits, a file outside the work folder
(content, mode, times, extended attributes), the machine's SysV IPC objects. Under root (as in CI)
the child runs as a uid of its own and the kernel refuses all of it; a few attacks are refused by
the seccomp filter on any machine.
"""
from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

import pytest

from test_sandbox_course import EXERCISES, submission, summary, write_course

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="a uid of the child's own is given under root only")

SHM_KEY = 0x74677331  # a SysV key the attacks leave or look for
LIBC = ctypes.CDLL(None, use_errno=True)

ATTACKS: dict[str, str] = {
    "prlimit the fork server's RLIMIT_FSIZE to one byte": """
import os, resource
try:
    resource.prlimit(os.getppid(), resource.RLIMIT_FSIZE, (1, 1))
    _won.append("fsize")
except OSError:
    pass
""",
    "prlimit RLIMIT_CPU of the fork server and of the grader's process group leader": """
import os, resource
for _pid in {os.getppid(), @GRADER_PID@, os.getpgid(@GRADER_PID@)}:
    try:
        _soft, _hard = resource.prlimit(_pid, resource.RLIMIT_CPU)
        resource.prlimit(_pid, resource.RLIMIT_CPU, (_soft, _hard))  # the same values: a success is the breach
        _won.append(_pid)
    except OSError:
        pass
""",
    "unshare a user namespace of its own, then prlimit and signal the server": """
import ctypes, os, resource, signal
if ctypes.CDLL(None).unshare(0x10000000) == 0:
    try:
        resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE))
        _won.append("prlimit from a user namespace")
    except OSError:
        pass
    try:
        os.kill(os.getppid(), signal.SIGURG)
        _won.append("signal from a user namespace")
    except OSError:
        pass
""",
    "signal the server, the grader and their process groups (a harmless SIGURG)": """
import os, signal
for _target in (os.getppid(), @GRADER_PID@):
    try:
        os.kill(_target, signal.SIGURG)
        _won.append(("kill", _target))
    except OSError:
        pass
    try:
        os.killpg(os.getpgid(_target), signal.SIGURG)
        _won.append(("killpg", _target))
    except OSError:
        pass
""",
    "PTRACE_SEIZE the fork server": """
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if _libc.ptrace(0x4206, os.getppid(), None, None) == 0:  # PTRACE_SEIZE: stops nothing, so a breach hangs nothing
    _won.append("ptrace")
""",
    "process_vm_readv the grader's memory": """
import ctypes, os
class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
_buffer = ctypes.create_string_buffer(8)
_mine = _Iovec(ctypes.cast(_buffer, ctypes.c_void_p), 8)
_theirs = _Iovec(ctypes.c_void_p(id(None)), 8)  # an address that is mapped in every Python of this build
_libc = ctypes.CDLL(None, use_errno=True)
if _libc.process_vm_readv(@GRADER_PID@, ctypes.byref(_mine), 1, ctypes.byref(_theirs), 1, 0) > 0:
    _won.append("read the grader's memory")
""",
    "pidfd_getfd a descriptor of the fork server": """
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_pidfd = _libc.syscall(434, os.getppid(), 0)  # pidfd_open
if _pidfd >= 0:
    for _fd in range(3, 12):
        if _libc.syscall(438, _pidfd, _fd, 0) >= 0:  # pidfd_getfd
            _won.append(_fd)
""",
    "chmod a root-owned file outside the work folder setuid": """
import os
try:
    os.chmod("@VICTIM@", 0o4777)
    _won.append("chmod")
except OSError:
    pass
""",
    "utime a file outside the work folder": """
import os
try:
    os.utime("@VICTIM@", (0, 0))
    _won.append("utime")
except OSError:
    pass
""",
    "setxattr and removexattr on a file outside the work folder": """
import os
for _do in (lambda: os.setxattr("@VICTIM@", "user.torchgrade", b"forged"),
            lambda: os.removexattr("@VICTIM@", "user.torchgrade")):
    try:
        _do()
        _won.append("xattr")
    except OSError:
        pass
""",
    "chown a file outside the work folder to itself": """
import os
try:
    os.chown("@VICTIM@", os.getuid(), os.getgid())
    _won.append("chown")
except OSError:
    pass
""",
    "stat solutions/ and exercises/ for sizes and times": """
import os
for _path in ("@COURSE@/solutions/activations.py", "@COURSE@/exercises/sigmoid.yaml", "@COURSE@/solutions",
              "@COURSE@/exercises", "@COURSE@/course.yaml"):
    try:
        os.stat(_path)
        _won.append(_path)
    except OSError:
        pass
""",
    "leave a SysV shared memory segment, a semaphore set and a message queue behind": """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_shm = _libc.shmget(@SHM_KEY@, 1 << 20, 0o1666)  # IPC_CREAT | 0666
if _shm >= 0:
    _address = _libc.shmat(_shm, None, 0)
_libc.semget(@SHM_KEY@, 1, 0o1666)
_libc.msgget(@SHM_KEY@, 0o1666)
""",
    "attach a SysV shared memory segment the grader's machine holds": """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
if _libc.shmget(@SHM_KEY@ + 1, 0, 0) >= 0:
    _won.append("found the segment")
""",
    "add a key to the user and session keyrings": """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
for _ring in (-4, -3):  # KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING
    if _libc.syscall(248 if ctypes.sizeof(ctypes.c_void_p) == 8 and __import__("platform").machine() == "x86_64" else 217,
                     b"user", b"torchgrade-left-behind", b"secret", 6, _ring) >= 0:
        _won.append(_ring)
""",
    "read the session keyring it inherited": """
import ctypes, platform
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_buffer = ctypes.create_string_buffer(256)
_keyctl = 250 if platform.machine() == "x86_64" else 219
if _libc.syscall(_keyctl, 6, -3, _buffer, 256) >= 0:  # KEYCTL_DESCRIBE of KEY_SPEC_SESSION_KEYRING
    _won.append(_buffer.value)
""",
    "become root again with setuid, setgroups and setresgid": """
import os
for _do in (lambda: os.setuid(0), lambda: os.setgroups([0]), lambda: os.setresgid(0, 0, 0), lambda: os.seteuid(0)):
    try:
        _do()
        _won.append("root")
    except OSError:
        pass
""",
    "leave a POSIX shared memory object in /dev/shm": """
import os
try:
    with open("/dev/shm/torchgrade-left-behind", "wb") as _f:
        _f.write(b"x" * 4096)
    _won.append("/dev/shm")
except OSError:
    pass
""",
    "write the fork server's rlimits through /proc": """
import os
for _name in ("limits", "oom_score_adj", "comm"):
    try:
        with open(f"/proc/{os.getppid()}/{_name}", "w") as _f:
            _f.write("Max file size=1:1\\n" if _name == "limits" else "1000\\n")
        _won.append(_name)
    except OSError:
        pass
""",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def baseline(plans, server, tiny, tmp_path_factory):
    from grader.run import grade_submission
    folder = tmp_path_factory.mktemp("honest")
    for name, text in submission().items():
        (folder / name).write_text(text)
    return summary(grade_submission(plans(tuple(EXERCISES), True, tiny), folder, server,
                                    tmp_path_factory.mktemp("scratch")))


def _shm_ids() -> set[str]:
    """Keys of the SysV objects of this machine's (the grader's) IPC namespace."""
    found = set()
    for kind in ("shm", "sem", "msg"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        found |= {f"{kind}:{int(line.split()[0]):#x}" for line in lines}
    return found


@pytest.fixture
def victim():
    """A root-owned file outside any work folder, on a path every uid may walk, with an extended attribute."""
    folder = Path(f"/tmp/torchgrade-victim-{os.getpid()}")
    folder.mkdir(mode=0o755, exist_ok=True)
    os.chmod(folder, 0o755)
    path = folder / "victim.txt"
    path.write_text("the grader's own file\n")
    os.chmod(path, 0o644)
    os.utime(path, ns=(time.time_ns(), 1_600_000_000_000_000_000))
    try:
        os.setxattr(path, "user.torchgrade", b"original")
    except OSError:
        pass
    yield path
    path.unlink(missing_ok=True)
    folder.rmdir()


def _state(path: Path) -> tuple:
    info = os.lstat(path)
    try:
        attributes = {name: os.getxattr(path, name) for name in os.listxattr(path)}
    except OSError:
        attributes = None
    fd = os.open(path, os.O_RDONLY | os.O_NOATIME)  # the test's own reading leaves the access time alone
    try:
        content = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    return content, info.st_mode, info.st_uid, info.st_gid, info.st_mtime_ns, info.st_atime_ns, attributes


def _limits(pid: int) -> str:
    return Path(f"/proc/{pid}/limits").read_text()


def _fill(code: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        code = code.replace(key, value)
    return code


def test_there_are_at_least_fifteen_attacks_here():
    assert len(ATTACKS) >= 15


@as_root
@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_on_what_is_shared_changes_nothing(name, grade_files, server, tiny, baseline, victim):
    grader_shm = LIBC.shmget(SHM_KEY + 1, 4096, 0o1600)  # a segment of the grader's machine, private to root
    assert grader_shm >= 0
    before = {"victim": _state(victim), "server": _limits(server._process.pid), "grader": _limits(os.getpid()),
              "ipc": _shm_ids()}
    code = _fill(ATTACKS[name], {"@GRADER_PID@": str(os.getpid()), "@VICTIM@": str(victim),
                                 "@COURSE@": str(tiny.root.resolve()), "@SHM_KEY@": str(SHM_KEY)})
    try:
        result = grade_files(submission(code), exercises=EXERCISES, course=tiny, name="mallory")
        after = {"victim": _state(victim), "server": _limits(server._process.pid), "grader": _limits(os.getpid()),
                 "ipc": _shm_ids()}
    finally:
        LIBC.shmctl(grader_shm, 0, None)  # IPC_RMID
        Path("/dev/shm/torchgrade-left-behind").unlink(missing_ok=True)
    assert summary(result) == baseline, name
    assert after == before
    assert server._process.poll() is None  # the fork server is alive


@as_root
def test_a_child_runs_as_a_uid_of_its_own_with_no_group_and_no_capability(server, tmp_path):
    from grader.sandbox import Job
    work = tmp_path / "job"
    work.mkdir()
    source = """
import ctypes, json, os
header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
data = (ctypes.c_uint32 * 6)()
assert ctypes.CDLL(None).capget(header, data) == 0
print(json.dumps({"uid": os.getresuid(), "gid": os.getresgid(), "groups": os.getgroups(), "caps": list(data),
                  "owner": os.stat(".").st_uid}))
"""
    outcome = server.run(Job("grader.sandbox.selftest:run_source", {"source": source}, workdir=str(work)))
    assert outcome.ok, outcome.stderr
    import json
    seen = json.loads(outcome.stdout.strip().splitlines()[-1])
    uid = seen["uid"][0]
    assert uid not in (0, os.getuid()) and seen["uid"] == [uid] * 3 and seen["gid"] == [uid] * 3
    assert seen["groups"] == []
    assert seen["owner"] == uid  # its work folder was handed to it
    assert seen["caps"] == [0] * 6  # effective, permitted, inheritable: none
    assert {"own-user", "ipc-namespace", "no-capabilities"} <= set(outcome.confinement)


@as_root
def test_a_grader_with_umask_077_grades_a_0600_module_the_same(plans, server, tiny, baseline, tmp_path):
    """The staged copy (0600 files in 0700 folders under such a umask) is opened to the child's uid: a
    private file must not fail to import as another uid."""
    from grader.run import grade_submission
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    for name, text in submission().items():
        (folder / name).write_text(text)
        os.chmod(folder / name, 0o600)
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o700)
    old = os.umask(0o077)
    try:
        result = grade_submission(plans(tuple(EXERCISES), True, tiny), folder, server, scratch)
    finally:
        os.umask(old)
    assert summary(result) == baseline
    assert "own-user" in result.details["confinement"]


@as_root
def test_a_course_every_uid_may_walk_is_not_there_for_the_child(grade_files, tmp_path):
    """A course in a folder open to all (a checkout in /home/teacher, 0755): the child's view of it holds
    only what it needs, so not even the names, sizes and times of solutions/ and exercises/ show."""
    course_root = Path(f"/tmp/torchgrade-open-course-{os.getpid()}")
    tiny = write_course(course_root)
    try:
        for folder in [course_root, *course_root.rglob("*")]:
            os.chmod(folder, 0o755 if folder.is_dir() else 0o644)
        attack = _fill(ATTACKS["stat solutions/ and exercises/ for sizes and times"], {"@COURSE@": str(course_root)})
        honest = summary(grade_files(submission(), exercises=EXERCISES, course=tiny, name="honest"))
        result = grade_files(submission(attack), exercises=EXERCISES, course=tiny, name="mallory")
    finally:
        import shutil
        shutil.rmtree(course_root)
    assert summary(result) == honest
