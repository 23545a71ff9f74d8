"""Fork servers forked from one warm template per grader process (grader/sandbox/templates.py): each is a
server that has never run a job, nothing one server loaded reaches the next, a dead template is replaced,
and the template and its servers end with the grader."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader import wire
from grader.sandbox import ForkServer, Job, templates

pytestmark = pytest.mark.security
TARGET = "grader.sandbox.selftest:run_source"
PRELOAD = ("grader.child",)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _template_of(server: ForkServer) -> int:
    """The pid of the template `server` was forked from; skips where servers start on their own."""
    if not isinstance(server._process, templates.ForkedServer):
        pytest.skip("this machine has no pidfd or fd passing: servers start on their own")
    return _parent(server._process.pid)


def _run(server: ForkServer, source: str, work: Path, **job) -> dict:
    work.mkdir()
    outcome = server.run(Job(TARGET, {"source": textwrap.dedent(source)}, workdir=str(work), **job))
    assert outcome.ok, outcome.stderr
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def _gone(pid: int, within_s: float = 30.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_server_is_forked_from_the_template_and_inherits_nothing_another_server_loaded(tmp_path):
    tasks = tmp_path / "tasks.data"
    wire.dump({"relu": {"module": "activations", "n": 1}}, tasks)
    held = """
    import json, os
    import grader.child as child
    print(json.dumps({"held": os.environ["TASKS"] in child._TASKS}))
    """
    job = {"readable": (str(tasks),), "env": {"TASKS": str(tasks)}}
    with ForkServer(PRELOAD) as first:
        assert _run(first, held, tmp_path / "a", prepare=("grader.child:load_tasks", str(tasks)), **job) == {"held": True}
        with ForkServer(PRELOAD) as second:
            assert isinstance(second._process, templates.ForkedServer)
            template = _parent(second._process.pid)
            assert template != os.getpid() and _parent(first._process.pid) == template
            assert _run(second, held, tmp_path / "b", **job) == {"held": False}, \
                "a server forked after another loaded a plan has that plan too"


def test_a_dead_template_is_replaced_and_its_servers_go_on(tmp_path):
    source = 'import json, os; print(json.dumps({"pid": os.getpid()}))'
    with ForkServer(PRELOAD) as first:
        template = _template_of(first)
        os.kill(template, signal.SIGKILL)
        assert _gone(template)
        with ForkServer(PRELOAD) as second:
            assert _parent(second._process.pid) not in (template, os.getpid())
            assert _run(second, source, tmp_path / "b")["pid"] != second._process.pid
        assert _run(first, source, tmp_path / "a")["pid"] != first._process.pid


def test_the_template_and_its_servers_end_with_the_grader(tmp_path):
    script = textwrap.dedent("""
        import json, sys
        from grader.sandbox import ForkServer
        servers = [ForkServer(("grader.child",)).start() for _ in range(2)]
        print(json.dumps([s._process.pid for s in servers]), flush=True)
        sys.stdin.read()
    """)
    grader = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    try:
        servers = json.loads(grader.stdout.readline())
        template = _parent(servers[0])
        assert template != grader.pid and _parent(servers[1]) == template
    finally:
        grader.kill()
        grader.wait()
    for pid in (template, *servers):
        assert _gone(pid), f"process {pid} outlived the grader that started it"


def test_ending_the_templates_leaves_their_servers_serving(tmp_path):
    source = 'import json, os; print(json.dumps({"pid": os.getpid()}))'
    with ForkServer(PRELOAD) as server:
        template = _template_of(server)
        templates.close_all()
        assert _gone(template) and templates._templates == {}
        assert _run(server, source, tmp_path / "a")["pid"] != server._process.pid
