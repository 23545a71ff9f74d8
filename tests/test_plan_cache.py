"""The plan cache: a cached plan grades exactly as a fresh one, and nothing that changes a plan reuses an old one."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import batch, cli, grading, plan_cache
from grader.plan import build_plan
from grader.run import grade_submission
from grader.spec import load_course


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private cache folder for this test; its plans live in cache/plans."""
    monkeypatch.setenv("TORCHGRADE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TORCHGRADE_NO_PLAN_CACHE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def builds(monkeypatch) -> list[tuple]:
    """Every build_plan the cache falls back to, as (hidden, exercises)."""
    seen: list[tuple] = []

    def counting(course, *, hidden, exercises=None, **options):
        seen.append((hidden, exercises))
        return build_plan(course, hidden=hidden, exercises=exercises, **options)

    monkeypatch.setattr(plan_cache, "build_plan", counting)
    return seen


@pytest.fixture
def course_copy(repo, tmp_path) -> Path:
    """course.yaml, exercises/ and solutions/ in a folder of their own, to edit."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(repo / "course.yaml", root)
    for folder in ("exercises", "solutions"):
        shutil.copytree(repo / folder, root / folder)
    return root / "course.yaml"


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "plans").glob("*.plan"))


def load(course, tmp_path, **options):
    workdir = Path(os.path.join(tmp_path, f"plan-{time.monotonic_ns()}"))
    return plan_cache.load_or_build(course, cuda=False, workdir=workdir, **options)


def one_exercise_per_check_kind(course) -> list[str]:
    """The first exercise with each kind of check (hidden ones included): every part a plan can hold."""
    chosen: dict[str, str] = {}
    for exercise in course.exercises:
        for check in exercise.checks:
            chosen.setdefault(check.kind, exercise.id)
    return [e.id for e in course.exercises if e.id in chosen.values()]


def test_a_cached_plan_grades_a_submission_exactly_as_a_fresh_plan(course, repo, server, cache, builds, tmp_path):
    exercises = one_exercise_per_check_kind(course)
    assert {c.kind for e in course.exercises for c in e.checks} == \
           {c.kind for e in course.exercises if e.id in exercises for c in e.checks}
    fresh = load(course, tmp_path, hidden=True, exercises=exercises)  # build_plan's own result, which the cache stores
    cached = load(course, tmp_path, hidden=True, exercises=exercises)
    assert builds == [(True, exercises)], "the first load built the plan, the second came from the cache"
    assert cached is not fresh
    assert cached.workdir != fresh.workdir and cached.tasks_file.parent == cached.workdir
    assert cached.tasks_file.read_bytes() == fresh.tasks_file.read_bytes()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # bob's work passes some checks and fails others, with feedback and pictures: every part of a plan is used
    expected = grade_submission(fresh, repo / "examples" / "bob", server, scratch).to_json()
    statuses = {c["status"] for e in expected["exercises"] for c in e["checks"]}
    assert "passed" in statuses and statuses & {"failed", "error"}
    assert grade_submission(cached, repo / "examples" / "bob", server, scratch).to_json() == expected


def test_the_plans_workdir_files_come_back_in_a_fresh_workdir(course, cache, builds, tmp_path):
    built = load(course, tmp_path, hidden=False, exercises=["sigmoid", "relu"])
    extra = built.workdir / "more" / "note.txt"  # anything a check may leave there comes back too
    extra.parent.mkdir()
    extra.write_text("for the child")
    shutil.rmtree(cache)
    plan_cache.load_or_build(course, hidden=False, exercises=["sigmoid", "relu"], cuda=False, workdir=built.workdir)
    again = load(course, tmp_path, hidden=False, exercises=["sigmoid", "relu"])
    assert len(builds) == 2
    assert again.tasks_file.parent == again.workdir != built.workdir
    assert again.tasks_file.read_bytes() == built.tasks_file.read_bytes()
    assert (again.workdir / "more" / "note.txt").read_text() == "for the child"
    assert again.course is course and all(e in course.exercises for e in again.exercises)


def test_an_edited_exercise_file_is_never_served_an_old_plan(course_copy, cache, builds, tmp_path):
    before = load(load_course(course_copy), tmp_path, hidden=False, exercises=["sigmoid"])
    assert before.prepared["sigmoid"][0].check.points == 3
    exercise = course_copy.parent / "exercises" / "activations" / "sigmoid.yaml"
    exercise.write_text(exercise.read_text().replace("    points: 3\n", "    points: 5\n", 1))
    after = load(load_course(course_copy), tmp_path, hidden=False, exercises=["sigmoid"])
    assert len(builds) == 2
    assert after.prepared["sigmoid"][0].check.points == 5


def test_an_edited_reference_solution_is_never_served_an_old_plan(course_copy, cache, builds, tmp_path):
    load(load_course(course_copy), tmp_path, hidden=False, exercises=["tanh_grad"])
    load(load_course(course_copy), tmp_path, hidden=False, exercises=["tanh_grad"])
    assert len(builds) == 1
    solution = course_copy.parent / "solutions" / "activations.py"
    solution.write_text(solution.read_text() + "\n# edited\n")
    load(load_course(course_copy), tmp_path, hidden=False, exercises=["tanh_grad"])
    assert len(builds) == 2


def test_the_same_course_in_another_folder_gets_its_own_plan(course_copy, cache, builds, tmp_path):
    other = tmp_path / "elsewhere"
    shutil.copytree(course_copy.parent, other)
    first = load(load_course(course_copy), tmp_path, hidden=False, exercises=["relu"])
    second = load(load_course(other / "course.yaml"), tmp_path, hidden=False, exercises=["relu"])
    assert len(builds) == 2
    assert second.course.root != first.course.root


def test_another_exercise_selection_gets_its_own_plan(course, cache, builds, tmp_path):
    one = load(course, tmp_path, hidden=False, exercises=["sigmoid"])
    two = load(course, tmp_path, hidden=False, exercises=["sigmoid", "tanh"])
    same = load(course, tmp_path, hidden=False, exercises=["tanh", "sigmoid"])  # the order given does not matter
    assert [e.id for e in one.exercises] == ["sigmoid"]
    assert [e.id for e in two.exercises] == [e.id for e in same.exercises] == ["sigmoid", "tanh"]
    assert len(builds) == 2 and len(entries(cache)) == 2


def test_hidden_and_public_plans_are_kept_apart(course, cache, builds, tmp_path):
    public = load(course, tmp_path, hidden=False, exercises=["sigmoid"])
    hidden = load(course, tmp_path, hidden=True, exercises=["sigmoid"])
    public_again = load(course, tmp_path, hidden=False, exercises=["sigmoid"])
    assert builds == [(False, ["sigmoid"]), (True, ["sigmoid"])]
    assert not any(p.check.hidden for p in public_again.prepared["sigmoid"])
    assert any(p.check.hidden for p in hidden.prepared["sigmoid"])
    assert (public.hidden, hidden.hidden, public_again.hidden) == (False, True, False)


def test_the_key_holds_cuda_and_the_grader_environment(course, monkeypatch):
    chosen = ["sigmoid"]
    key = plan_cache.plan_key(course, hidden=False, chosen=chosen, cuda=False)
    assert plan_cache.plan_key(course, hidden=False, chosen=chosen, cuda=True) != key
    environment = dict(plan_cache._environment(), grader_source="edited")
    monkeypatch.setattr(plan_cache, "_environment", lambda: environment)
    assert plan_cache.plan_key(course, hidden=False, chosen=chosen, cuda=False) != key


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other key", "stale exercise"])
def test_a_damaged_entry_is_rebuilt_silently(course, cache, builds, tmp_path, capsys, damage):
    load(course, tmp_path, hidden=False, exercises=["relu"])
    (entry,) = entries(cache)
    data = entry.read_bytes()
    entry.write_bytes({"garbage": b"\x80\x05not a pickle at all",
                       "truncated": data[: len(data) // 2],
                       "empty": b"",
                       "other key": data.replace(entry.stem.encode(), b"0" * 64, 1),
                       "stale exercise": data.replace(b"relu", b"RELU")}[damage])
    plan = load(course, tmp_path, hidden=False, exercises=["relu"])
    assert [e.id for e in plan.exercises] == ["relu"] and plan.tasks_file.is_file()
    assert len(builds) == 2
    assert capsys.readouterr().err == ""
    load(course, tmp_path, hidden=False, exercises=["relu"])
    assert len(builds) == 2, "the rebuilt entry is used again"


def test_the_cache_folder_is_private_and_under_xdg_cache_home(course, tmp_path, monkeypatch, builds):
    monkeypatch.delenv("TORCHGRADE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load(course, tmp_path, hidden=False, exercises=["relu"])
    folder = tmp_path / "xdg" / "torchgrade" / "plans"
    assert plan_cache.cache_dir() == folder
    for path in (folder.parent, folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    (entry,) = folder.glob("*.plan")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    folder.chmod(0o755)
    load(course, tmp_path, hidden=False, exercises=["relu"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and len(builds) == 1


def test_graded_code_cannot_read_the_default_cache_folder(monkeypatch):
    from grader.sandbox import paths
    monkeypatch.delenv("TORCHGRADE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert not paths.covers(paths.read_only(), plan_cache.cache_dir())


def test_a_cache_folder_that_graded_code_could_read_is_not_used(course, cache, builds, tmp_path, monkeypatch, capsys):
    from grader.sandbox import paths
    monkeypatch.setattr(paths, "read_only", lambda: [str(tmp_path)])
    load(course, tmp_path, hidden=False, exercises=["relu"])
    load(course, tmp_path, hidden=False, exercises=["relu"])
    assert len(builds) == 2 and entries(cache) == []
    assert "graded code may read" in capsys.readouterr().err


def test_the_cache_keeps_the_newest_few(course, cache, builds, tmp_path):
    (cache / "plans").mkdir(parents=True, mode=0o700)
    for n in range(plan_cache.KEEP + 3):
        old = cache / "plans" / f"{n:064x}.plan"
        old.write_bytes(b"old")
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
    plan = load(course, tmp_path, hidden=False, exercises=["relu"])
    kept = entries(cache)
    assert len(kept) == plan_cache.KEEP
    key = plan_cache.plan_key(course, hidden=False, chosen=["relu"], cuda=plan.context.cuda)
    assert cache / "plans" / f"{key}.plan" in kept


def test_no_cache_switches_bypass_it(course, cache, builds, tmp_path, monkeypatch):
    load(course, tmp_path, hidden=False, exercises=["relu"], use_cache=False)
    monkeypatch.setenv("TORCHGRADE_NO_PLAN_CACHE", "1")
    load(course, tmp_path, hidden=False, exercises=["relu"])
    load(course, tmp_path, hidden=False, exercises=["relu"])
    assert len(builds) == 3 and not cache.exists()


@pytest.mark.integration  # runs `torchgrade check`
def test_check_reuses_the_plan_and_no_cache_rebuilds_it(repo, cache, builds, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    args = ["check", str(repo / "solutions"), "-k", "relu", "--course", str(repo / "course.yaml")]
    for extra in ([], [], ["--no-cache"]):
        result = CliRunner().invoke(cli.main, args + extra)
        assert result.exit_code == 0, result.output
        assert "relu" in result.output
    assert len(builds) == 2 and len(entries(cache)) == 1


def test_check_starts_its_server_with_the_modules_grading_preloads():
    assert grading.PRELOAD is batch.PRELOAD  # one name for both, in the torch-free grader.entry


@pytest.mark.integration  # starts `torchgrade --help`
def test_help_imports_no_torch(repo):
    code = textwrap.dedent("""
        import sys
        from grader.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        print("torch imported" if "torch" in sys.modules else "no torch")
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("no torch")
