"""Attacks on fork servers forked from a warm template (grader/sandbox/templates.py): a template that stops
answering, a grader with many descriptors open, a server that dies at once, descriptors that run out, and
what a forked server or its confined child can see of the template or of other servers."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader.sandbox import ForkServer, Job, templates
from grader.sandbox.server_client import environment
from test_server_templates import _parent, _template_of

pytestmark = pytest.mark.security
TARGET = "grader.sandbox.selftest:run_source"
PRELOAD = ("grader.child",)
#: Far longer than a server start takes on a loaded machine: a start still running by then is stuck.
STUCK_S = 120.0


def _run(server: ForkServer, source: str, work: Path) -> dict:
    work.mkdir()
    outcome = server.run(Job(TARGET, {"source": textwrap.dedent(source)}, workdir=str(work)))
    assert outcome.ok, outcome.stderr
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def _links(pid: int | str) -> dict[str, str]:
    found = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            found[name] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            pass
    return found


def test_a_stopped_template_does_not_hang_the_next_server_start(monkeypatch):
    """A template that stops answering (SIGSTOP, or a learner of the grader's uid where signals are not
    scoped) must cost a fresh start, not every later start of this grader, forever."""
    monkeypatch.setattr(templates, "REPLY_S", 2.0)
    with ForkServer(PRELOAD) as first:
        template = _template_of(first)
        started: dict = {}

        def start() -> None:
            try:
                started["server"] = ForkServer(PRELOAD).start()
            except BaseException as exc:  # noqa: BLE001 - reported below
                started["error"] = exc

        os.kill(template, signal.SIGSTOP)
        try:
            thread = threading.Thread(target=start, daemon=True)
            thread.start()
            thread.join(STUCK_S)
            stuck = thread.is_alive()
        finally:
            with contextlib.suppress(ProcessLookupError):  # the stuck template was ended, as it should be
                os.kill(template, signal.SIGCONT)
        thread.join()
        if "server" in started:
            started["server"].close()
        assert not stuck, f"a server start waited {STUCK_S:.0f} s on a stopped template (no timeout on its reply)"
        assert "server" in started, started.get("error")


def test_a_grader_with_more_than_1024_descriptors_still_runs_jobs_on_forked_servers(tmp_path):
    """select() takes no descriptor past 1023: a grader holding many files (a big class, many workers) gets
    a pidfd past it, and every poll of the server would raise instead of grading."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1200:
        pytest.skip("this machine allows fewer than 1200 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held: list[int] = []
    server = None
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        server = ForkServer(PRELOAD).start()
        _template_of(server)
        try:
            answer = _run(server, 'import json; print(json.dumps({"ran": True}))', tmp_path / "job")
        except ValueError as exc:
            pytest.fail(f"a forked server could not be polled once the grader held >1024 descriptors: {exc}")
        assert answer == {"ran": True}
    finally:
        if server is not None and server._process is not None:
            pid = server._process.pid
            try:
                server.close()
            except ValueError:
                os.kill(pid, signal.SIGKILL)
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_failed_pipe_leaks_no_descriptor_of_the_grader(monkeypatch):
    """Out of descriptors, a fork request that cannot make its second pipe must close the first: each
    start tried while the grader is out of descriptors would otherwise leak two more."""
    template = object.__new__(templates.Template)
    real_pipe = os.pipe
    made: dict[int, int] = {}  # descriptor: its pipe's inode

    def pipe_then_none() -> tuple[int, int]:
        if made:
            raise OSError(errno.EMFILE, "Too many open files")
        ends = real_pipe()
        made.update((fd, os.fstat(fd).st_ino) for fd in ends)
        return ends

    monkeypatch.setattr(os, "pipe", pipe_then_none)
    with pytest.raises(OSError):
        template.fork(str(Path.cwd()))
    monkeypatch.undo()
    leaked = [fd for fd, inode in made.items() if _open_on(fd, inode)]
    for fd in leaked:
        os.close(fd)
    assert made and not leaked, f"descriptors {leaked} of a fork request that failed stayed open in the grader"


def _open_on(fd: int, inode: int) -> bool:
    try:
        return os.fstat(fd).st_ino == inode
    except OSError:
        return False


def test_a_forked_server_and_its_children_hold_nothing_of_the_template_or_of_other_servers(tmp_path):
    """No socket (the template's control socket) and no pipe but its own in a forked server; nothing but
    its stdio and events channel in a job's child."""
    listing = """
    import json, os, stat
    found = {}
    for fd in range(4096):  # the child may not list /proc/self/fd: ask each descriptor what it is
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        found[str(fd)] = "socket:" if stat.S_ISSOCK(mode) else "pipe:" if stat.S_ISFIFO(mode) else "other"
    print(json.dumps(found))
    """
    with ForkServer(PRELOAD) as first, ForkServer(PRELOAD) as second:
        _template_of(second)
        for server in (first, second):
            assert server._process is not None
            own = {f"pipe:[{os.fstat(stream.fileno()).st_ino}]"
                   for stream in (server._process.stdin, server._process.stdout)}
            links = _links(server._process.pid).values()
            assert not [link for link in links if link.startswith("socket:")], \
                f"server {server._process.pid} holds a socket: {sorted(links)}"
            assert {link for link in links if link.startswith("pipe:")} <= own, \
                f"server {server._process.pid} holds a pipe not its own: {sorted(links)}"
        seen = _run(second, listing, tmp_path / "child")
        assert not [link for link in seen.values() if link.startswith("socket:")], seen
        assert len([link for link in seen.values() if link.startswith("pipe:")]) <= 3, seen


def test_a_switch_reaches_only_the_servers_started_with_it(monkeypatch, tmp_path):
    """TORCHGRADE_NO_CGROUP set for one start: that server is forked from a template of its own and its
    children have no pids cgroup; a server started without it is not served by that template."""
    source = 'import json; print(json.dumps({"confinement": argument["_confinement"]}))'
    with ForkServer(PRELOAD) as plain:
        plain_template = _template_of(plain)
        monkeypatch.setenv("TORCHGRADE_NO_CGROUP", "1")
        with ForkServer(PRELOAD) as switched:
            switched_template = _template_of(switched)
            assert switched_template != plain_template
            assert "pids-cgroup" not in _run(switched, source, tmp_path / "switched")["confinement"]
        monkeypatch.delenv("TORCHGRADE_NO_CGROUP")
        with ForkServer(PRELOAD) as again:
            assert _template_of(again) == plain_template


def test_the_template_keeps_a_servers_pid_until_the_grader_holds_it(monkeypatch, tmp_path):
    """The template reaps its servers as they end; one that ended before the grader opened its pidfd has
    a pid free for reuse, and the grader's kill() and wait() would then follow another process."""
    real_pidfd_open = os.pidfd_open
    released: list[int] = []

    def late_pidfd_open(pid: int, *flags: int) -> int:
        deadline = time.monotonic() + 2  # a template that reaps at once frees the pid within milliseconds
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.01)
        if not os.path.exists(f"/proc/{pid}"):
            released.append(pid)
        return real_pidfd_open(pid, *flags)

    home = tmp_path / "gone"  # never made: the forked server fails to enter it and ends at once
    env = environment(str(home))
    monkeypatch.setattr(os, "pidfd_open", late_pidfd_open)
    forked = templates.forked_server(sys.executable, PRELOAD, env, str(home))
    monkeypatch.undo()
    if forked is not None:
        forked.kill()
        forked.wait()
    assert not released, f"the template released server pid {released[0]} before the grader held a pidfd on it"


def test_an_interrupted_fork_request_does_not_leave_the_next_server_with_its_pid(tmp_path):
    """Ctrl-C (or any exception) after a fork request was sent and before its reply was read leaves that
    reply on the control socket: the next server must still get its own pid, not the abandoned one's."""
    with ForkServer(PRELOAD) as first:
        template_pid = _template_of(first)
        template = next(t for t in list(templates._templates.values()) if t._process.pid == template_pid)
        replies = template._replies

        class Interrupted:
            def readline(self) -> str:
                raise KeyboardInterrupt

            def close(self) -> None:
                replies.close()

        template._replies = Interrupted()
        try:
            with pytest.raises(KeyboardInterrupt):
                template.fork(str(tmp_path))
        finally:
            template._replies = replies
        forked = templates.forked_server(sys.executable, PRELOAD, environment(str(tmp_path)), str(tmp_path))
        assert forked is not None, "the template was left unusable after an interrupted request, and not replaced"
        try:
            assert json.loads(forked.stdout.readline()).get("ready")
            requests = f"pipe:[{os.fstat(forked.stdin.fileno()).st_ino}]"
            try:
                serving = os.readlink(f"/proc/{forked.pid}/fd/0")
            except OSError:
                serving = "(no such process)"
            assert serving == requests, \
                f"the grader follows pid {forked.pid}, which is not the server reading its requests"
        finally:
            forked.stdin.close()
            forked.kill()
            forked.wait()
            _forget(template)


def _forget(template: templates.Template) -> None:
    """Close a template this test may have left out of step, so later tests start one of their own."""
    with templates._registry_lock:
        for key, registered in list(templates._templates.items()):
            if registered is template:
                del templates._templates[key]
    template.close()
