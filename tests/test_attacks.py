"""Hostile submissions: nothing a submission does changes its own verdicts or anyone else's.

Every attack is the honest-but-wrong submission (sigmoid off by +0.01) plus code that tries to
change a verdict, read what it must not, write what it must not, or outlive its grading. Where a
breach would be visible only in the child (a file read, a signal delivered, a connection made),
the attack switches sigmoid to the right answer on success, so a breach changes the score. Each
test asserts the exact check-by-check result of the honest wrong answer: attacks do nothing.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from test_sandbox_course import EXERCISES, HONEST_SIGMOID, SOLUTIONS, submission, summary, write_course

REPO = Path(__file__).resolve().parents[1]

#: The honest counterpart of an attack that must return something else than a plain tensor: the
#: same wrong values as a subclass that does not lie (the grader wants a plain torch.Tensor).
HONEST_SUBCLASS = """
class _Plain(torch.Tensor):
    pass

def sigmoid(x):
    return _wrong(x).as_subclass(_Plain)
"""

#: name → code run at import of activations.py (before sigmoid is defined), or (code, sigmoid), or
#: (code, sigmoid, the honest sigmoid to compare with when it is not the plain wrong one).
ATTACKS: dict[str, str | tuple[str, ...]] = {
    "patch torch.testing.assert_close": """
import torch.testing
torch.testing.assert_close = lambda *a, **k: None
""",
    "patch torch.allclose, isclose and equal": """
torch.allclose = lambda *a, **k: True
torch.Tensor.allclose = lambda *a, **k: True
torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)
torch.equal = lambda *a: True
""",
    "patch math.isclose": """
import math
math.isclose = lambda *a, **k: True
""",
    "patch numpy's allclose and assert_allclose": """
import numpy, numpy.testing
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, **k: numpy.ones_like(a, dtype=bool)
numpy.testing.assert_allclose = lambda *a, **k: None
""",
    "patch Tensor.__eq__ and __sub__": """
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
torch.Tensor.__ne__ = lambda self, other: torch.zeros_like(self, dtype=torch.bool)
""",
    "replace torch.sigmoid and friends with the wrong function": """
import torch.nn.functional as F
torch.sigmoid = torch.special.expit = F.sigmoid = _wrong
torch.Tensor.sigmoid = lambda self: _wrong(self)
""",
    "override aten::sigmoid's CPU kernel": """
_lib = torch.library.Library("aten", "IMPL")
_lib.impl("sigmoid", lambda x: 1 / (1 + torch.exp(-x)) + 0.01, "CPU")
""",
    "Tensor subclass whose __torch_function__ lies about equality": ("""
class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal"):
            return True
        if name in ("isclose", "eq", "__eq__"):
            return torch.ones(args[0].shape, dtype=torch.bool)
        if name in ("sub", "__sub__", "__rsub__") and not torch.is_grad_enabled():
            return torch.zeros(args[0].shape)
        return super().__torch_function__(func, types, args, kwargs or {})
""", """
def sigmoid(x):
    return _wrong(x).as_subclass(_Liar)
""", HONEST_SUBCLASS),
    "gc.get_objects() for the reference's tensors": ("", """
import gc

_scans = []

def sigmoid(x):
    if len(_scans) >= 3:  # the first calls are enough: values, gradient and forbid cases
        return _right(x) if _won else _wrong(x)
    _scans.append(1)
    with torch.no_grad():
        reference = _right(x)  # only to recognise a reference output if one were anywhere in memory
        for obj in gc.get_objects():
            try:
                if (isinstance(obj, torch.Tensor) and obj is not reference and obj.shape == x.shape
                        and obj.dtype == x.dtype and obj.device == x.device
                        and torch.Tensor.allclose(obj, reference, rtol=0.0, atol=1e-6)):
                    _won.append(obj)
            except Exception:
                pass
    return _right(x) if _won else _wrong(x)
"""),
    "import grader in the child and patch the judges": """
import grader.kinds.values.judge, grader.kinds.gradient.judge, grader.checks.compare, grader.scoring
from grader.checks.base import CaseVerdict
_pass = lambda prepared, case, result: CaseVerdict(case.id, case.label, True)
grader.kinds.values.judge.judge_case = grader.kinds.gradient.judge.judge_case = _pass
grader.checks.compare.compare_tensor = lambda *a, **k: None
grader.scoring.score_check = lambda exercise, check, verdicts: None
""",
    "forge the saved record (grader.wire.dump) with scores and verdicts": """
import grader.wire
_dump = grader.wire.dump
def _forged(obj, path):
    if isinstance(obj, dict):
        obj = dict(obj, passed=True, score=1000.0, status=obj.get("status", "ok"), verdict="passed")
    return _dump(obj, path)
grader.wire.dump = _forged
""",
    "walk the stack to the harness and read the tasks for expected values": """
import sys
_frame = sys._getframe()
while _frame is not None:
    _argument = _frame.f_locals.get("argument")
    if isinstance(_argument, dict) and "tasks_file" in _argument:
        from grader import wire
        _tasks = wire.load(_argument["tasks_file"], from_the_grader=True)
        _text = repr(_tasks)
        if "expected" in _text or "reference" in _text:
            _won.append("found expected values in the tasks")
    _frame = _frame.f_back
""",
    "read solutions through /proc/<parent>/cwd, root and fds": """
import os
def _steal_from(pid):
    for path in (f"/proc/{pid}/cwd/solutions/activations.py", f"/proc/{pid}/root@COURSE@/solutions/activations.py",
                 f"/proc/{pid}/cwd"):
        try:
            if path.endswith("cwd"):
                _won.append(os.listdir(path)) if os.listdir(path) else None
            elif "def sigmoid" in open(path).read():
                _won.append(path)
        except OSError:
            pass
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            _won.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    except OSError:
        pass
for _pid in {os.getppid(), @GRADER_PID@, 1}:
    _steal_from(_pid)
""",
    "read /proc/<pid>/cmdline and environ of the grader": """
import os
for _pid in (os.getppid(), @GRADER_PID@):
    for _name in ("cmdline", "environ", "maps", "mem"):
        try:
            with open(f"/proc/{_pid}/{_name}", "rb") as _f:
                if _f.read(100):
                    _won.append(_name)
        except OSError:
            pass
""",
    "follow grader.__file__ to solutions/ and exercises/": """
from pathlib import Path
import grader
_root = Path(grader.__file__).resolve().parents[1]
for _p in (_root / "solutions" / "activations.py", _root / "exercises", _root / "course.yaml", _root / ".git"):
    try:
        _won.append(_p.read_text()[:10] if _p.is_file() else list(_p.iterdir()))
    except OSError:
        pass
""",
    "read paths found in environment variables": """
import os
for _value in list(os.environ.values()):
    for _part in _value.split(":"):
        if _part.startswith("/") and not _part.startswith(os.getcwd()):
            for _name in ("solutions/activations.py", "course.yaml", "../solutions/activations.py"):
                try:
                    open(os.path.join(_part, _name)).read(1)
                    _won.append(_part)
                except OSError:
                    pass
try:
    open("/proc/self/environ").read()
except OSError:
    pass
""",
    "walk the file system for other activations.py": """
import os, time
_mine = os.path.dirname(os.path.abspath(__file__))
_until = time.monotonic() + 2.0
for _top in ("/", "/tmp", "/work", "/root", "/home", "@COURSE@", "@OTHER@"):
    for _dir, _dirs, _files in os.walk(_top):
        if time.monotonic() > _until:
            break
        if "activations.py" in _files and os.path.abspath(_dir) != _mine:
            try:
                if "def sigmoid" in open(os.path.join(_dir, "activations.py")).read():
                    _won.append(_dir)
            except OSError:
                pass
""",
    "read the solutions and another student at known absolute paths": """
for _path in ("@COURSE@/solutions/activations.py", "@REPO@/solutions/activations.py", "@OTHER@/activations.py",
              "@COURSE@/exercises/sigmoid.yaml", "@RESULTS@/alice/results.json"):
    try:
        open(_path).read(1)
        _won.append(_path)
    except OSError:
        pass
""",
    "write results.json, the gradebook, the tasks and files outside its folder": """
import os, json
_forged = json.dumps({"submission": "alice", "score": 100.0})
for _path in ("@RESULTS@/alice/results.json", "@RESULTS@/gradebook.csv", "@RESULTS@/mallory/results.json",
              "@MARKER@/written", "@REPO@/torchgrade-was-here", "/tmp/torchgrade-was-here",
              os.path.join(os.path.dirname(os.path.abspath(__file__)), "extras.py"), "../../results.json"):
    try:
        with open(_path, "w") as _f:
            _f.write(_forged)
        _won.append(_path)
    except OSError:
        pass
""",
    "trap the grader with a FIFO or symlink named like an output file": """
import os
for _name in ("out/sigmoid.data", "out/tanh.data"):
    try:
        os.mkfifo(_name)
        _won.append(_name)
    except OSError:
        pass
try:
    os.symlink("@RESULTS@/alice/results.json", "out/relu.data")
    _won.append("symlink")
except OSError:
    pass
try:
    os.link("@COURSE@/solutions/activations.py", "stolen.py")
    _won.append("hard link")
except OSError:
    pass
""",
    "signal, stop or ptrace the fork server and the grader": """
import os, signal, ctypes
# The fork server gets SIGKILL (a success would crash this grading); the grader only a harmless SIGURG.
for _pid, _signals in ((os.getppid(), (signal.SIGURG, signal.SIGKILL)), (@GRADER_PID@, (signal.SIGURG,))):
    for _sig in _signals:
        try:
            os.kill(_pid, _sig)
            _won.append((_pid, _sig))
        except OSError:
            pass
    if ctypes.CDLL(None).ptrace(16, _pid, 0, 0) == 0:  # PTRACE_ATTACH
        _won.append("ptrace")
""",
    "send or fetch over the network": """
import socket
for _family, _kind, _address in ((socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", @PORT@)),
                                 (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", @PORT@)),
                                 (socket.AF_UNIX, socket.SOCK_STREAM, "@MARKER@/sock")):
    try:
        with socket.socket(_family, _kind) as _s:
            _s.settimeout(2)
            _s.connect(_address)
            _s.sendall(b"give me the solution")
            if b"def sigmoid" in _s.recv(4096):
                _won.append(_address)
    except OSError:
        pass
""",
    "os.chdir('/') at import": """
import os
os.chdir("/")
""",
    "print 20 MB at import": """
import sys
for _ in range(20):
    sys.stdout.write("x" * (1 << 20) + "\\n")
""",
    "write a file larger than the limit": """
try:
    with open("big.bin", "wb") as _f:
        for _ in range(100):
            _f.write(b"\\0" * (1 << 20))
except OSError:
    pass
""",
    "allocate 3 GiB": """
try:
    _hog = torch.ones(3 * 1024 ** 3, dtype=torch.uint8)
    _won.append("3 GiB")
except (MemoryError, RuntimeError):
    pass
""",
    "fork bomb (bounded) at import": """
import os, time
_children = 0
for _ in range(100):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        _children += 1
    except OSError:
        break
if _children >= 100:  # the limit is 64
    _won.append("100 processes")
""",
    "a detached double fork that writes later": """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1.0)
        for _path in ("@MARKER@/late", "late-file"):
            try:
                open(_path, "w").write("still alive")
            except OSError:
                pass
    os._exit(0)
""",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_course(tmp_path_factory.mktemp("course"))


def test_the_grader_never_imports_learner_code_in_its_own_process(plans, server, tiny, tmp_path):
    """Graded (the wrong sigmoid is caught), yet this process never imported, compiled or ran it."""
    import builtins
    from grader.run import grade_submission
    seen: list[tuple] = []
    watching = [True]
    folder = tmp_path / "student"
    folder.mkdir()

    learner = ("activations", "extras")

    def hook(event: str, args: tuple) -> None:
        # Matched on module names, file names and the marker only: a library compiling its own source
        # (sympy does, lazily, under some torch builds) is not the learner's code.
        if not watching:
            return
        if event == "import" and str(args[0]).split(".")[0] in learner:
            seen.append((event, str(args[0])))
        elif event == "compile":
            source, filename = repr(args[0]), str(args[1])
            if "TORCHGRADE_LEARNER_RAN_HERE" in source or str(tmp_path) in filename or Path(filename).stem in learner:
                seen.append((event, filename))
        elif event == "exec":
            filename = str(getattr(args[0], "co_filename", ""))
            if str(tmp_path) in filename or Path(filename).stem in learner:
                seen.append((event, filename))

    sys.addaudithook(hook)  # audit hooks cannot be removed; this one goes quiet after the test
    files = submission("import builtins\nbuiltins.TORCHGRADE_LEARNER_RAN_HERE = True\n")
    for name, text in files.items():
        (folder / name).write_text(text)
    try:
        result = grade_submission(plans(tuple(EXERCISES), True, tiny), folder, server, tmp_path)
    finally:
        watching.clear()
    assert summary(result)["sigmoid"][0] == ("values", "failed", 0.0)  # the learner's code did run, elsewhere
    assert seen == []
    assert not hasattr(builtins, "TORCHGRADE_LEARNER_RAN_HERE")
    assert not {"activations", "extras"} & set(sys.modules)
    assert not [m for m in list(sys.modules.values()) if str(tmp_path) in str(getattr(m, "__file__", "") or "")]


@pytest.fixture(scope="module")
def targets(tmp_path_factory, tiny):
    """Real files an attack would love to read or write, and a server that hands out the solution."""
    other = tmp_path_factory.mktemp("other_student")
    (other / "activations.py").write_text(SOLUTIONS)
    results = tmp_path_factory.mktemp("results")
    (results / "alice").mkdir()
    (results / "alice" / "results.json").write_text('{"submission": "alice", "score": 1.0}\n')
    (results / "gradebook.csv").write_text("submission,score\nalice,1.0\n")
    marker = tmp_path_factory.mktemp("marker")
    listener = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(marker / "sock"))
    unix.listen()

    def serve(sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(SOLUTIONS.encode())

    for sock in (listener, unix):
        threading.Thread(target=serve, args=(sock,), daemon=True).start()
    values = {"@COURSE@": str(tiny.root.resolve()), "@REPO@": str(REPO), "@OTHER@": str(other),
              "@RESULTS@": str(results), "@MARKER@": str(marker), "@PORT@": str(listener.getsockname()[1]),
              "@GRADER_PID@": str(os.getpid())}
    yield values
    listener.close()
    unix.close()


@pytest.fixture(scope="module")
def baseline(plans, server, tiny, tmp_path_factory):
    """The honest wrong answer's result, check by check."""
    from grader.run import grade_submission
    folder = tmp_path_factory.mktemp("honest")
    for name, text in submission().items():
        (folder / name).write_text(text)
    result = grade_submission(plans(tuple(EXERCISES), True, tiny), folder, server, tmp_path_factory.mktemp("scratch"))
    return summary(result)


def _fill(code: str, targets: dict[str, str]) -> str:
    for key, value in targets.items():
        code = code.replace(key, value)
    return code


def test_the_honest_baseline_fails_values_and_passes_the_rest(baseline):
    """The baseline every attack is compared with shows both failures and passes, so a change shows."""
    statuses = {name: status for name, status, _ in baseline["sigmoid"]}
    assert statuses == {"values": "failed", "gradient": "passed", "forbid": "passed", "device": "passed",
                        "hidden_wide": "failed"}
    assert all(status == "passed" for name, status, _ in baseline["tanh"] + baseline["relu"])


def test_there_are_at_least_twenty_distinct_attacks():
    assert len(ATTACKS) >= 20


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_changes_no_verdict(name, grade_files, tiny, targets, baseline):
    attack = ATTACKS[name]
    code, sigmoid, honest = (attack + (None,) * 3)[:3] if isinstance(attack, tuple) else (attack, HONEST_SIGMOID, None)
    if honest is not None:
        baseline = summary(grade_files(submission("", honest), exercises=EXERCISES, course=tiny, name="honest"))
    result = grade_files(submission(_fill(code, targets), _fill(sigmoid, targets)), exercises=EXERCISES,
                         course=tiny, name="mallory")
    litter = [p for p in (REPO / "torchgrade-was-here", Path("/tmp/torchgrade-was-here")) if p.exists()]
    for path in litter:  # a breach must not outlive its test
        path.unlink()
    assert summary(result) == baseline, name
    assert litter == []
    assert not (Path(targets["@MARKER@"]) / "written").exists()
    assert (Path(targets["@RESULTS@"]) / "alice" / "results.json").read_text() == '{"submission": "alice", "score": 1.0}\n'


def test_a_detached_writer_never_writes(grade_files, tiny, targets, baseline):
    """The double-forked, setsid() process of the attack above is gone when grading ends: it never writes."""
    grade_files(submission(_fill(ATTACKS["a detached double fork that writes later"], targets)),
                exercises=EXERCISES, course=tiny, name="mallory")
    time.sleep(1.5)
    assert not (Path(targets["@MARKER@"]) / "late").exists()


@pytest.fixture(scope="module")
def second_server():
    from grader.entry import PRELOAD
    from grader.sandbox import ForkServer
    with ForkServer(PRELOAD) as warm:
        yield warm


HOSTILE_BATCH = """
import os, signal, time
_victims = [@SERVERS@]
for _server in @SERVERS@:  # the other worker's child, through its server's list of children
    try:
        for _tid in os.listdir(f"/proc/{_server}/task"):
            _victims += [int(p) for p in open(f"/proc/{_server}/task/{_tid}/children").read().split()]
    except OSError:
        pass
for _pid in _victims:
    if _pid != os.getpid():
        try:
            os.kill(_pid, signal.SIGKILL)
        except OSError:
            pass
if os.fork() == 0:
    os.setsid()
    time.sleep(1.5)  # until the honest results are written
    for _name in ("alice", "bob"):
        try:
            open(f"@RESULTS@/{_name}/results.json", "w").write("{}")
        except OSError:
            pass
    os._exit(0)
for _name in ("alice", "bob"):
    try:
        open(f"@RESULTS@/{_name}/results.json", "w").write("{}")
    except OSError:
        pass
print("x" * (1 << 20))
"""


def test_a_hostile_submission_between_two_honest_ones_changes_nothing(plans, server, second_server, tiny, tmp_path):
    """results.json of the honest ones are byte for byte those of grading each alone."""
    from grader.batch import WorkerPool, grade_many
    from grader.intake import Submission
    from grader.report import write_results
    plan = plans(tuple(EXERCISES), True, tiny)
    folders = {}
    honest_alice = submission()
    honest_bob = {"activations.py": submission()["activations.py"].replace("+ 0.01", "* 1.0"), "extras.py": "def relu(x):\n    return x\n"}
    batch_out, alone_out = tmp_path / "batch", tmp_path / "alone"
    for name, files in (("alice", honest_alice), ("mallory", submission(HOSTILE_BATCH.replace("@RESULTS@", str(batch_out)).replace(
                            "@SERVERS@", repr([server._process.pid, second_server._process.pid])))),
                        ("bob", honest_bob)):
        folders[name] = tmp_path / "in" / name
        folders[name].mkdir(parents=True)
        for filename, text in files.items():
            (folders[name] / filename).write_text(text)
    for name in ("alice", "bob"):
        (result,) = grade_many(plan, [Submission.from_path(folders[name])], pool=WorkerPool.of([server]))
        write_results(result, alone_out)
    batch = grade_many(plan, [Submission.from_path(folders[n]) for n in ("alice", "mallory", "bob")],
                       pool=WorkerPool.of([server, second_server]), jobs=2,
                       on_result=lambda result: write_results(result, batch_out))
    assert [r.submission for r in batch] == ["alice", "mallory", "bob"]
    time.sleep(2.0)  # past the time the detached writer would write
    for name in ("alice", "bob"):
        alone = (alone_out / name / "results.json").read_bytes()
        assert (batch_out / name / "results.json").read_bytes() == alone, name
        assert json.loads(alone)["submission"] == name
    assert json.loads((batch_out / "bob" / "results.json").read_text())["score"] < plan_max(plan)


def plan_max(plan) -> float:
    return sum(e.max_score for e in plan.exercises)


def test_a_record_that_would_run_code_in_the_grader_is_refused(grade_files, tiny, targets):
    """The child can write any bytes as its record; the grader's reader builds no class or function from
    them, so a pickle that would run os.system in the grader only costs its own exercises."""
    code = _fill("""
import grader.wire, os, pickle
class _Evil:
    def __reduce__(self):
        return (os.system, ("touch @MARKER@/written",))
grader.wire.dumps = lambda value: pickle.dumps(_Evil())
""", targets)
    result = grade_files(submission(code), exercises=EXERCISES, course=tiny, name="mallory")
    assert not (Path(targets["@MARKER@"]) / "written").exists()
    for exercise in result.exercises:
        if exercise.id in ("sigmoid", "tanh"):  # saved after activations.py was imported (relu's may come first)
            assert {c.status for c in exercise.checks} == {"error"}, exercise.id
            assert "could not read the results" in exercise.checks[0].feedback


def test_a_record_the_judges_choke_on_costs_its_exercise_and_not_the_run(grade_files, tiny):
    """Plain data of the wrong shape (a list where a record is a dict) used to end a whole class's run."""
    code = """
import grader.wire
_dumps = grader.wire.dumps
grader.wire.dumps = lambda value: _dumps(["not", "a", "record"])
"""
    result = grade_files(submission(code), exercises=EXERCISES, course=tiny, name="mallory")
    for exercise in result.exercises:
        if exercise.id in ("sigmoid", "tanh"):
            assert {c.status for c in exercise.checks} == {"error"}, exercise.id
            assert "could not judge" in exercise.checks[0].feedback
    assert {f["exercise"] for f in result.details["judging_failed"]} >= {"sigmoid", "tanh"}
