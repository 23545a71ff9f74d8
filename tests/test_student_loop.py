"""The student's loop: pytest in a bundle starts its sandbox at once and builds no more than it must."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grader import batch, plan_cache, pool
from test_child_start import python_with_torch, run_python  # noqa: F401  (fixtures)

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


@pytest.fixture
def events(monkeypatch) -> list[str]:
    """What the plugin does, in order: the fork server's pool made, the plan loaded, the grading run."""
    seen: list[str] = []
    pools: list[object] = []
    real_pool, real_load, real_grade = pool.WorkerPool, plan_cache.load_or_build, batch.grade_many

    class RecordedPool(real_pool):
        def __init__(self, *args, **kwargs):
            seen.append("server started")
            super().__init__(*args, **kwargs)
            pools.append(self)

    def load_or_build(*args, **kwargs):
        seen.append("plan")
        return real_load(*args, **kwargs)

    def grade_many(plan, submissions, *args, pool=None, **kwargs):
        seen.append("graded on the session's server" if pool is not None and pool in pools else "graded elsewhere")
        return real_grade(plan, submissions, *args, pool=pool, **kwargs)

    monkeypatch.setattr(pool, "WorkerPool", RecordedPool)
    monkeypatch.setattr(plan_cache, "load_or_build", load_or_build)
    monkeypatch.setattr(batch, "grade_many", grade_many)
    return seen


def test_pytest_starts_the_fork_server_before_it_collects_and_grades_on_it(pytester, bundle, events):
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "relu")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the starters: relu is not written yet
    assert events == ["server started", "plan", "graded on the session's server"]


def test_collect_only_starts_no_fork_server(pytester, bundle, events):
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-k", "relu")
    assert result.ret == pytest.ExitCode.OK
    assert events == ["plan"]


def test_pytest_outside_a_bundle_starts_no_fork_server(pytester, bundle, events):
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    (pytester.path / "pytest.ini").write_text("[pytest]\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert events == []


BUILD = """
import sys, torch
from pathlib import Path
from grader import plan_cache
from grader.spec import load_course
{load_the_compiler}
course = load_course(Path({course!r}))
ids = [e.id for e in course.exercises if e.module == "initializers"]
plan = plan_cache.load_or_build(course, hidden=True, exercises=ids, cuda=False, use_cache=False)
print(type(sys.modules["torch._dynamo"]).__name__)
torch.save({{e: [p.expected for p in plan.prepared[e]] for e in ids}}, {out!r})
"""


def test_a_plan_is_built_without_loading_torchs_compiler_and_expects_the_same_values(repo, run_python, tmp_path):
    """The initialisers' references run under a TorchDispatchMode, which would import torch._dynamo (≈ 1 s). Each
    build runs in an interpreter of its own that has imported torch and nothing else (tests/test_child_start.py)."""
    built = {}
    for how, load_the_compiler in (("compiler left unloaded", ""), ("compiler loaded", "import torch._dynamo")):
        out = tmp_path / f"{how}.pt"
        shown = run_python(BUILD.format(load_the_compiler=load_the_compiler, course=str(repo / "course.yaml"),
                                        out=str(out)))
        built[how] = (shown.split()[-1], torch.load(out, weights_only=False))
    assert built["compiler left unloaded"][0] == "_Deferred"  # the stand-in: torch._dynamo never imported
    assert built["compiler loaded"][0] != "_Deferred"
    assert same(built["compiler left unloaded"][1], built["compiler loaded"][1])


def same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_passing_work_draws_no_picture_and_failing_work_still_gets_it(pytester, bundle, repo):
    """pytest shows nothing of a passing check, so its picture (the gradient norms) is not drawn."""
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    shutil.copy(repo / "solutions" / "experiments.py", pytester.path / "experiments.py")
    passing = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "gradient_norms")
    assert passing.ret == pytest.ExitCode.OK
    assert not (pytester.path / "feedback" / "gradient_norms.png").exists()
    shutil.copy(repo / "examples" / "bob" / "experiments.py", pytester.path / "experiments.py")
    failing = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "gradient_norms")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    assert "See feedback/gradient_norms.png" in failing.stdout.str()  # a failing check names it: it is there
    assert (pytester.path / "feedback" / "gradient_norms.png").is_file()


def test_a_bundle_session_freezes_the_garbage_collector_for_the_interpreters_exit(bundle, tmp_path):
    """The exit's last collection would walk torch's objects; frozen, they are left to the exit itself."""
    folder = tmp_path / "bundle"
    shutil.copytree(bundle, folder)
    (folder / "conftest.py").write_text(  # loaded before the session starts: its exit handler runs after the plugin's
        "import atexit, gc\natexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                          "-k", "relu"], cwd=folder, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "frozen at exit: True" in run.stdout
    (folder / "pytest.ini").write_text("[pytest]\n")  # not a bundle: the plugin leaves the interpreter alone
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q"],
                         cwd=folder, capture_output=True, text=True, timeout=600)
    assert "frozen at exit: False" in run.stdout


def test_pytests_last_garbage_walk_skips_the_sessions_objects_and_leaves_the_collector_as_it_was(pytester, bundle):
    """pytest's own unconfigure collects garbage (walking torch's objects); the plugin freezes them for it."""
    import gc

    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    seen: list[int] = []

    class Spy:
        @pytest.hookimpl(trylast=True)
        def pytest_unconfigure(self, config):
            seen.append(gc.get_freeze_count())

    gc.unfreeze()  # whatever this test process froze before (in-process gradings freeze what they load)
    before = gc.get_freeze_count()
    pytester.runpytest_inprocess("--collect-only", "-q", "-k", "relu", plugins=[Spy()])
    assert seen and seen[0] > before  # frozen while pytest's unconfigure hooks run …
    assert gc.get_freeze_count() == before  # … and thawed by the session's cleanup


def test_loading_and_grading_walk_no_garbage_and_the_run_leaves_the_collector_as_it_was(pytester, bundle, monkeypatch):
    """Importing torch, the course, the plan and one grading make objects, not garbage: no collection walks them."""
    import gc

    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    seen: dict[str, object] = {}
    real_load, real_grade = plan_cache.load_or_build, batch.grade_many

    def load_or_build(*args, **kwargs):
        seen["collector on while loading"] = gc.isenabled()
        return real_load(*args, **kwargs)

    def grade_many(*args, **kwargs):
        seen["collector on while grading"] = gc.isenabled()
        return real_grade(*args, **kwargs)

    class Spy:
        def pytest_collection_finish(self, session):
            seen["frozen after collection"] = gc.get_freeze_count()

    monkeypatch.setattr(plan_cache, "load_or_build", load_or_build)
    monkeypatch.setattr(batch, "grade_many", grade_many)
    gc.unfreeze()  # whatever this test process froze before (in-process gradings freeze what they load)
    before = gc.get_freeze_count()
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "relu", plugins=[Spy()])
    assert seen["collector on while loading"] is False and seen["collector on while grading"] is False
    assert seen["frozen after collection"] > before
    assert gc.isenabled() and gc.get_freeze_count() == before


def test_paused_collection_freezes_what_the_block_made_and_restores_the_switch():
    import gc

    from grader.collector import paused

    frozen = gc.get_freeze_count()
    try:
        with paused():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(made)
        gc.disable()
        with paused(freeze=False):
            pass
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()
        gc.unfreeze()


def test_check_loads_the_course_and_grades_with_the_collector_paused(repo, tmp_path, monkeypatch):
    import gc

    from click.testing import CliRunner

    from grader import cli, spec

    seen: dict[str, bool] = {}
    real_load = spec.load_course

    def load_course(*args, **kwargs):
        seen["loading"] = gc.isenabled()
        return real_load(*args, **kwargs)

    class Graded(Exception):
        pass

    def grade_many(*args, **kwargs):
        seen["grading"] = gc.isenabled()
        raise Graded  # the grading itself is not what this test is about

    monkeypatch.setattr(spec, "load_course", load_course)
    monkeypatch.setattr(batch, "grade_many", grade_many)
    shutil.copy(repo / "solutions" / "activations.py", tmp_path / "activations.py")
    try:
        result = CliRunner().invoke(cli.main, ["check", str(tmp_path), "-k", "relu", "--course",
                                               str(repo / "course.yaml")])
        assert isinstance(result.exception, Graded), result.output
        assert seen == {"loading": False, "grading": False}
        assert gc.isenabled()
    finally:
        gc.unfreeze()
