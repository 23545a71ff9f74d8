"""Attacks on starting and ending fork server templates (templates.close_all, discard): each test states a
promise these keep."""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from grader.sandbox import templates

pytestmark = pytest.mark.security

#: A template that is started and never says it is ready (its preload hangs: a stuck import, a driver
#: that never answers): it writes its pid to the file named by its first argument, then waits.
NEVER_READY = "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(600)\n"
#: A template that says it is ready, then never answers a fork request.
NEVER_ANSWERS = ("import json, socket, time\ns = socket.socket(fileno=0)\n"
                 "s.sendall(json.dumps({'ready': True}).encode() + b'\\n')\ntime.sleep(600)\n")
#: Far longer than ending a template takes on a loaded machine: still waiting by then is waiting forever.
STUCK_S = 20.0


def _wait_for(path: Path) -> int:
    for _ in range(600):
        if path.exists() and path.read_text():
            return int(path.read_text())
        threading.Event().wait(0.1)
    raise AssertionError("the stuck template never started")


def test_ending_templates_does_not_wait_forever_on_a_template_that_never_starts(monkeypatch, tmp_path):
    """A command ends its templates before it exits (cli.run, and atexit for the rest): a worker whose
    template hangs while starting must not make the command hang after it is done (or after Ctrl-C)."""
    pid_file = tmp_path / "pid"

    def stuck_start(python, preload, env):
        home = tmp_path / "home"
        home.mkdir()
        return templates.Template([sys.executable, "-c", NEVER_READY, str(pid_file)], dict(env), str(home))

    monkeypatch.setattr(templates, "_start", stuck_start)
    monkeypatch.setattr(templates, "_templates", {})
    starting = threading.Thread(target=templates.forked_server,
                                args=(sys.executable, ("stuck",), {"PATH": "/usr/bin:/bin"}, str(tmp_path)),
                                daemon=True)
    starting.start()
    pid = _wait_for(pid_file)
    ending = threading.Thread(target=templates.close_all, daemon=True)
    try:
        ending.start()
        ending.join(STUCK_S)
        ended = not ending.is_alive()
    finally:
        os.kill(pid, signal.SIGKILL)  # lets the stuck start fail, and with it close_all go on
        starting.join(STUCK_S)
        ending.join(STUCK_S)
    assert ended, "close_all waited for a template start that never ends: the command could not exit"


def test_a_template_that_fails_to_start_lets_the_server_start_on_its_own(monkeypatch, tmp_path):
    """Where no template can serve, forked_server answers None and the caller starts its server itself: a
    template that fails on its first start (it did not say ready, or /tmp or the descriptors ran out) must
    not fail the worker, and with it the whole grading."""
    def failing_start(python, preload, env):
        raise templates.TemplateError("the fork server template did not start")

    monkeypatch.setattr(templates, "_start", failing_start)
    monkeypatch.setattr(templates, "_templates", {})
    assert templates.forked_server(sys.executable, ("x",), {"PATH": "/usr/bin:/bin"}, str(tmp_path)) is None


def test_a_discarded_template_leaves_no_folder_behind(monkeypatch, tmp_path):
    """A template that stops answering is killed (discard), so it never removes its own folder (with the font
    cache seeded in it) as a template that ends on its own does: every stuck template would leave one in /tmp."""
    monkeypatch.setattr(templates, "REPLY_S", 0.5)
    home = tmp_path / "template-home"
    home.mkdir()
    (home / ".mpl").mkdir()
    template = templates.Template([sys.executable, "-c", NEVER_ANSWERS], {"PATH": "/usr/bin:/bin"}, str(home))
    with pytest.raises((OSError, templates.TemplateError)):
        template.fork(str(tmp_path))
    assert not template.alive()
    assert not home.exists(), "the discarded template's folder is left behind"
