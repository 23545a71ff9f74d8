"""One facade for grading (grader.grading): every front end opens its plan and grades through it, and the
self-check, the pytest plugin and a class grading give the same verdicts on the same submission."""
from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import cli, grading
from grader.integrations import pytest_plugin

pytest_plugins = ["pytester"]

#: Every front end that plans or grades, as a module of the package.
FRONT_ENDS = ["grader.cli", "grader.integrations.pytest_plugin", "grader.integrations.nbgrader.autograde",
              "grader.integrations.nbgrader.session", "grader.integrations.gradescope.run", "grader.release"]


def test_every_front_end_and_the_class_benchmark_import_the_facade(repo):
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("grader")
    assert [m for m in FRONT_ENDS if not graph.direct_import_exists(importer=m, imported="grader.grading")] == []
    tree = ast.parse((repo / "benchmarks" / "class_grading.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "grader.grading" in imported and "grader.plan_cache" not in imported


class ThroughFacade(Exception):
    """Raised by the spy in place of loading a plan: the front end asked the facade for it."""


@pytest.fixture
def asked(monkeypatch) -> list[dict]:
    """Every plan a front end asks the facade for (its options); the asking then stops that front end."""
    calls: list[dict] = []

    def spy(course, **options):
        calls.append(options)
        raise ThroughFacade(options)

    monkeypatch.setattr(grading, "plan_for", spy)
    return calls


@pytest.mark.parametrize("command, hidden", [
    (["check", "solutions", "-k", "relu"], False),
    (["grade", "solutions", "--out", "{tmp}/out", "--jobs", "1"], True),
    (["audit", "-k", "relu", "--jobs", "1"], True),
], ids=["check", "grade", "audit"])
def test_the_command_line_plans_through_the_facade(repo, tmp_path, monkeypatch, asked, command, hidden):
    monkeypatch.chdir(repo)
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    result = CliRunner().invoke(cli.main, args)
    assert isinstance(result.exception, ThroughFacade), result.output
    assert [call["hidden"] for call in asked] == [hidden]


def test_gradescope_plans_through_the_facade(repo, tmp_path, asked):
    from grader.integrations.gradescope.run import grade
    shutil.copytree(repo / "solutions", tmp_path / "submission")
    with pytest.raises(ThroughFacade):
        grade(tmp_path, repo / "course.yaml")
    assert [call["hidden"] for call in asked] == [True]


def test_the_nbgrader_kernel_plans_through_the_facade(repo, asked):
    from grader.integrations.nbgrader.session import KernelGrader
    kernel = KernelGrader(str(repo / "course.yaml"))
    try:
        with pytest.raises(ThroughFacade):
            kernel.grade("relu", False, ["def relu(x):\n    return x.clamp(min=0)\n"])
    finally:
        kernel.close()
    assert asked == [dict(hidden=False, exercises=["relu"], cuda=None, workdir=asked[0]["workdir"], cache=False)]


def test_the_nbgrader_kernel_says_why_cells_could_not_be_graded(repo, monkeypatch):
    """A grading the facade could not do (its boundary's result) reaches the test cell as an error, not a score."""
    from grader.batch import could_not_grade
    from grader.integrations.nbgrader.session import KernelGrader
    reason = "the grader's sandbox refused to run it (no user namespaces)"
    monkeypatch.setattr(grading.Grader, "grade", lambda self, submission, **_: could_not_grade(self.plan, submission, reason))
    kernel = KernelGrader(str(repo / "course.yaml"))
    try:
        assert kernel.grade("relu", False, ["def relu(x):\n    return x.clamp(min=0)\n"]) == {"error": reason}
    finally:
        kernel.close()


def test_release_plans_through_the_facade(course, tmp_path, asked):
    from grader.release import write_bundle
    with pytest.raises(ThroughFacade):
        write_bundle(course, tmp_path / "bundle")
    assert [(call["hidden"], call["cuda"]) for call in asked] == [(False, True)]


def test_the_pytest_plugin_plans_through_the_facade(repo, pytester, asked):
    teachers_course_as_bundle(repo, pytester.path)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # the collection error the spy raised
    assert [call["hidden"] for call in asked] == [False]


def teachers_course_as_bundle(repo: Path, root: Path) -> None:
    """The teacher's course (its solutions are its references) where the pytest plugin collects it."""
    shutil.copy(repo / "course.yaml", root / "course.yaml")
    for folder in ("exercises", "solutions"):
        shutil.copytree(repo / folder, root / folder)
    (root / "pytest.ini").write_text("[pytest]\ntorchgrade_bundle = true\n")


@pytest.mark.integration  # starts a process
def test_check_and_the_pytest_plugin_give_the_verdicts_grade_gives(repo, tmp_path, pytester, monkeypatch):
    """The same submission (a partly wrong activations module), public checks: the same statuses and points
    from `grade --public-only`, `check` and pytest; `check`'s feedback on failing checks word for word."""
    submission = tmp_path / "bob"
    submission.mkdir()
    shutil.copy(repo / "examples" / "bob" / "activations.py", submission / "activations.py")
    course = ["--course", str(repo / "course.yaml")]
    monkeypatch.chdir(tmp_path)

    graded = CliRunner().invoke(cli.main, ["grade", str(submission), "--out", str(tmp_path / "out"), "--public-only",
                                           "--jobs", "1", *course])
    assert graded.exit_code == 0, graded.output
    by_grade = {(e["id"], c["name"]): c for e in json.loads((tmp_path / "out" / "bob" / "results.json").read_text())
                ["exercises"] for c in e["checks"]}
    assert any(c["status"] != "passed" for c in by_grade.values())  # a submission that fails some checks
    assert any(c["status"] == "passed" for c in by_grade.values())  # and passes others

    checked = []
    self_check = grading.self_check
    monkeypatch.setattr(grading, "self_check", lambda *a, **k: checked.append(self_check(*a, **k)) or checked[-1])
    check = CliRunner().invoke(cli.main, ["check", str(submission), *course])
    assert check.exit_code == 1, check.output
    by_check = {(e.id, c.name): c for e in checked[0].exercises for c in e.checks}
    assert by_check.keys() == by_grade.keys()
    for key, mine in by_check.items():
        assert (mine.status, mine.score, mine.max_score) == tuple(by_grade[key][f] for f in ("status", "score", "max_score"))
        if mine.status != "passed":
            assert mine.feedback == by_grade[key]["feedback"], key

    teachers_course_as_bundle(repo, pytester.path)
    gradings = []

    class Capture:
        def pytest_terminal_summary(self, config):
            gradings.append(config.stash[pytest_plugin.GRADING])

    monkeypatch.chdir(pytester.path)
    pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--submission={submission}", plugins=[Capture()])
    parts: dict[tuple[str, str], list] = {}
    for (exercise, label, _), part in gradings[0].result.items():
        parts.setdefault((exercise, label), []).append(part)
    assert parts.keys() == by_grade.keys()
    for key, checks in parts.items():
        ran = [c for c in checks if c.status != "skipped"]
        passed = bool(ran) and all(c.status == "passed" for c in ran)
        assert passed == (by_grade[key]["status"] == "passed"), key
    score = sum(c["score"] for c in by_grade.values())
    assert gradings[0].score() == (score, sum(c["max_score"] for c in by_grade.values()))
