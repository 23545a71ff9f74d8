"""Where the machine cannot give a protection, the grader says which, and a course may refuse to grade without it.

`TORCHGRADE_NO_OWN_USER=1` makes a grader run as root behave as one that cannot give its children a
uid of their own (a container without the capabilities), as TORCHGRADE_PRETEND_NO_LANDLOCK does for
Landlock.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.sandbox import ForkServer, Job, Limits, SandboxRefused, policy
from grader.spec import load_course
from test_sandbox_course import EXERCISES, submission, write_course

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="a uid of the child's own is given under root only")


def _course(folder: Path, **settings: str):
    write_course(folder)
    text = (folder / "course.yaml").read_text()
    extra = "".join(f"  {name}: {value}\n" for name, value in settings.items())
    (folder / "course.yaml").write_text(text.replace("  without_landlock: warn\n", "  without_landlock: warn\n" + extra))
    return load_course(folder / "course.yaml")


@pytest.fixture(scope="module")
def server_without_own_user():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCHGRADE_NO_OWN_USER", "1")
        server = ForkServer(("grader.child",)).start()
    yield server
    server.close()


def test_each_setting_refuse_is_a_protection_the_child_requires():
    assert policy.required(SimpleNamespace(without_landlock="refuse", without_own_user="refuse",
                                           without_ipc_namespace="warn")) == ("landlock", "own-user")
    assert policy.required(SimpleNamespace(without_landlock="warn")) == ()
    assert policy.required("refuse") == ("landlock",)


def test_a_course_file_takes_the_new_settings(tmp_path):
    course = _course(tmp_path / "course", without_own_user="refuse", without_ipc_namespace="warn")
    assert course.sandbox.without_own_user == "refuse" and course.sandbox.without_ipc_namespace == "warn"


@as_root
def test_under_root_with_every_capability_nothing_is_missing(monkeypatch):
    monkeypatch.delenv("TORCHGRADE_NO_OWN_USER", raising=False)
    caps = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("CapEff")).split()[1], 16)
    if not all(caps >> bit & 1 for bit in (0, 6, 7, 21)):
        pytest.skip("this root lacks CAP_CHOWN, CAP_SETGID, CAP_SETUID or CAP_SYS_ADMIN")
    assert policy.missing_protections() == {}


@as_root
def test_without_an_own_uid_warn_says_which_protection_is_missing(tmp_path, monkeypatch, capsys):
    from grader.cli import _sandbox_policy
    monkeypatch.setenv("TORCHGRADE_NO_OWN_USER", "1")
    _sandbox_policy(_course(tmp_path / "course"))
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "grader's own uid" in err and "without_own_user: refuse" in err


@as_root
def test_without_an_own_uid_refuse_refuses_before_grading(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHGRADE_NO_OWN_USER", "1")
    with pytest.raises(SandboxRefused, match="without_own_user: refuse"):
        policy.check_all(_course(tmp_path / "course", without_own_user="refuse").sandbox)


@as_root
def test_a_child_that_requires_its_own_uid_refuses_where_it_cannot_have_one(server_without_own_user, tmp_path):
    work = tmp_path / "job"
    work.mkdir()
    outcome = server_without_own_user.run(Job("grader.sandbox.selftest:run_source", {"source": "print('ran')"},
                                              workdir=str(work), limits=Limits(), require=("own-user",)))
    assert outcome.reason == "refused"
    assert "ran" not in outcome.stdout
    assert "uid of the child's own is required" in outcome.stderr and "TORCHGRADE_NO_OWN_USER" in outcome.stderr


@as_root
def test_a_course_that_requires_an_own_uid_grades_nothing_without_one(plans, server_without_own_user, tmp_path):
    from grader.run import grade_submission
    course = _course(tmp_path / "course", without_own_user="refuse")
    folder = tmp_path / "student"
    folder.mkdir()
    for name, text in submission().items():
        (folder / name).write_text(text)
    with pytest.raises(SandboxRefused, match="uid of the child's own"):
        grade_submission(plans(tuple(EXERCISES), True, course), folder, server_without_own_user, tmp_path)


@as_root
def test_without_an_own_uid_warn_grades_with_the_same_scores(plans, server, server_without_own_user, tmp_path):
    from grader.run import grade_submission
    from test_sandbox_course import summary
    course = _course(tmp_path / "course")
    folder = tmp_path / "student"
    folder.mkdir()
    for name, text in submission().items():
        (folder / name).write_text(text)
    plan = plans(tuple(EXERCISES), True, course)
    for scratch in ("a", "b"):
        (tmp_path / scratch).mkdir()
    confined = grade_submission(plan, folder, server, tmp_path / "a")
    bare = grade_submission(plan, folder, server_without_own_user, tmp_path / "b")
    assert summary(confined) == summary(bare)
    assert "own-user" in confined.details["confinement"]
    assert "own-user" not in bare.details["confinement"]
