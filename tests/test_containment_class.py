"""A class graded beside an attack on what graded code shares with the grader scores what it scores alone.

One worker, so every later submission runs on the fork server the attack reached: lowering that
server's RLIMIT_FSIZE used to make every later submission on the worker score 0, and lowering its
RLIMIT_CPU (and its process group leader's) to end the whole run. Here the attack also signals the
server, leaves 64 MB of SysV shared memory and a key behind, forges step announcements and floods its
output.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from test_sandbox_course import EXERCISES, submission, write_course

HOSTILE = """
import ctypes, os, resource, signal
_libc = ctypes.CDLL(None, use_errno=True)
for _pid in {os.getppid(), os.getpgid(os.getppid()), @GRADER_PID@, os.getpgid(@GRADER_PID@)}:
    for _which, _value in ((resource.RLIMIT_FSIZE, 1), (resource.RLIMIT_CPU, 1), (resource.RLIMIT_NOFILE, 4)):
        try:
            resource.prlimit(_pid, _which, (_value, _value))
        except OSError:
            pass
try:
    os.kill(os.getppid(), signal.SIGTERM)  # the fork server: a breach ends it, and the next submissions with it
except OSError:
    pass
_shm = _libc.shmget(0x74677340, 64 << 20, 0o1666)
if _shm >= 0:
    _address = _libc.shmat(_shm, None, 0)
    if _address not in (None, -1):
        ctypes.memset(_address, 1, 64 << 20)
_libc.syscall(248, b"user", b"torchgrade-class", b"secret", 6, -4)
try:
    import sys
    _frame = sys._getframe()
    while _frame is not None and "steps" not in _frame.f_locals:
        _frame = _frame.f_back
    if _frame is not None:
        os.write(_frame.f_locals["steps"]._fd, b"D import:activations\\nS sigmoid\\nS tanh\\nS import:extras\\n" * 50)
except Exception:
    pass
print("x" * (1 << 20))
"""

#: Good and less good honest submissions: each scores what it scores, whoever is graded beside it.
CLASS = {
    "ada": submission("", "\ndef sigmoid(x):\n    return _right(x)\n"),
    "ben": submission(),
    "cy": {"activations.py": submission("", "\ndef sigmoid(x):\n    return torch.sigmoid(x)\n")["activations.py"],
           "extras.py": "def relu(x):\n    return x\n"},
    "dee": submission("", "\ndef sigmoid(x):\n    return 1 / (1 + torch.exp(-x))\n"),
}


def _folders(root: Path, grader_pid: int) -> dict[str, Path]:
    folders = {}
    for name, files in [("ada", CLASS["ada"]), ("mallory", submission(HOSTILE.replace("@GRADER_PID@", str(grader_pid)))),
                        ("ben", CLASS["ben"]), ("cy", CLASS["cy"]), ("dee", CLASS["dee"])]:
        folders[name] = root / name
        folders[name].mkdir(parents=True)
        for filename, text in files.items():
            (folders[name] / filename).write_text(text)
    return folders


def test_a_class_beside_an_attack_on_the_server_scores_what_it_scores_alone(plans, server, tmp_path):
    from grader.batch import WorkerPool, grade_many
    from grader.intake import Submission
    from grader.report import write_results
    tiny = write_course(tmp_path / "course")
    plan = plans(tuple(EXERCISES), True, tiny)
    folders = _folders(tmp_path / "in", os.getpid())
    limits_before = Path(f"/proc/{server._process.pid}/limits").read_text()
    own_limits_before = Path(f"/proc/{os.getpid()}/limits").read_text()
    alone_out, class_out = tmp_path / "alone", tmp_path / "class"
    honest = [name for name in folders if name != "mallory"]
    for name in honest:
        (result,) = grade_many(plan, [Submission.from_path(folders[name])], pool=WorkerPool.of([server]))
        write_results(result, alone_out)
    graded = grade_many(plan, [Submission.from_path(folders[name]) for name in folders], pool=WorkerPool.of([server]),
                        on_result=lambda result: write_results(result, class_out))
    assert [r.submission for r in graded] == list(folders)
    for name in honest:
        alone = (alone_out / name / "results.json").read_bytes()
        assert (class_out / name / "results.json").read_bytes() == alone, name
    scores = {name: json.loads((alone_out / name / "results.json").read_text())["score"] for name in honest}
    assert len(set(scores.values())) > 1  # the class is not all one score: a change would show
    assert Path(f"/proc/{server._process.pid}/limits").read_text() == limits_before
    assert Path(f"/proc/{os.getpid()}/limits").read_text() == own_limits_before
    keys = [int(line.split()[0]) for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    assert 0x74677340 not in keys
    assert server._process.poll() is None
