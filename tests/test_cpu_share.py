"""A job's processes share one core: a submission that forks spinners slows only itself, not the
submissions other servers grade beside it (where the server may make a cpu cgroup: root, or a delegated
cgroup v2 subtree; elsewhere the test says why it skips)."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from grader.sandbox import Job, Limits

SPINNERS = """
import os, time
started = time.monotonic()
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        while time.monotonic() - started < 1.5:
            pass
        os._exit(0)
    children.append(pid)
while time.monotonic() - started < 1.5:
    pass
for pid in children:
    os.waitpid(pid, 0)
spent = os.times()
print("cpu", spent.user + spent.system + spent.children_user + spent.children_system)
"""


def test_a_job_that_forks_spinners_gets_one_core_in_all(server, tmp_path: Path):
    from grader.sandbox.processes import _own_cgroups
    places = [parent for parent, _ in _own_cgroups("cpu") if os.access(parent, os.W_OK)]
    if not places:
        pytest.skip("no cpu cgroup may be made here (not root, no delegated cpu controller): nothing bounds a job's "
                    "cores")
    work = tmp_path / "job"
    work.mkdir()
    job = Job("grader.sandbox.selftest:run_source", {"source": textwrap.dedent(SPINNERS)}, workdir=str(work),
              limits=Limits(step_s=30, step_cpu_s=10, total_s=30, processes=16))
    outcome = server.run(job)
    assert outcome.ok, outcome
    spent = float(outcome.stdout.split("cpu", 1)[1])
    # four processes spinning for 1.5 s: 3 CPU s or more on two free cores, 1.5 s on one (and the kernel's slack)
    assert spent < 2.2, outcome.stdout
