"""pytest as the student's runner: in a bundle, one item per exercise × check × device, feedback as failure."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.integrations.pytest_plugin import is_bundle

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


def into(pytester: pytest.Pytester, bundle: Path) -> Path:
    shutil.copytree(bundle, pytester.path, dirs_exist_ok=True)
    return pytester.path


def test_the_plugin_is_inert_in_this_repository_and_outside_a_bundle(request, pytester, bundle):
    assert request.config.pluginmanager.has_plugin("torchgrade")  # registered by the entry point …
    assert not is_bundle(request.config)  # … and off here, though course.yaml sits at this rootdir
    into(pytester, bundle)
    (pytester.path / "pytest.ini").write_text("[pytest]\n")  # course.yaml, but not a bundle
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_items_are_named_exercise_check_device_and_k_selects_one_exercise(pytester, bundle, course):
    into(pytester, bundle)
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-k", "softmax")
    ids = [line for line in result.outlines if line.startswith("course.yaml::")]
    assert "course.yaml::softmax::values[cpu]" in ids and "course.yaml::softmax::forbid" in ids
    assert all(i.startswith("course.yaml::softmax::") for i in ids)  # not softmax_jacobian
    every = pytester.runpytest_inprocess("--collect-only", "-q")
    exercises = {line.split("::")[1] for line in every.outlines if line.startswith("course.yaml::")}
    assert exercises == {e.id for e in course.exercises}


def test_starters_fail_with_one_readable_failure_per_check(pytester, bundle, course):
    into(pytester, bundle)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rf")
    outcomes = result.parseoutcomes()
    assert "passed" not in outcomes and result.ret == pytest.ExitCode.TESTS_FAILED
    failed = {tuple(line.split()[1].split("::")[1:3]) for line in result.outlines if line.startswith("FAILED ")}
    failed = {(exercise, check.split("[")[0]) for exercise, check in failed}
    public = {(e.id, c.label) for e in course.exercises for c in e.checks if not c.hidden}
    assert failed == public  # every public check fails, and each is reported
    text = result.stdout.str()
    assert "NotImplementedError: sigmoid is not written yet" in text
    assert "_ sigmoid::values[cpu] _" in text  # the section header names exercise, check and device
    assert "Traceback" not in text and "grader/" not in text and "site-packages" not in text
    assert "torchgrade: 0 / " in text


def test_a_submission_that_is_not_there_is_reported_without_a_traceback(pytester, bundle):
    into(pytester, bundle)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "sigmoid", "--submission=nowhere")
    text = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "torchgrade could not check" in text and "does not exist" in text
    assert "Traceback" not in text


def test_the_pictures_the_feedback_names_are_written(pytester, bundle, repo):
    """As `torchgrade check` does: a failing plot check's feedback names files in feedback/, and they exist."""
    import re
    folder = into(pytester, bundle)
    shutil.copy(repo / "examples" / "bob" / "plots.py", folder / "plots.py")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "plot_activation")
    named = set(re.findall(r"feedback/([\w.-]+\.png)", result.stdout.str()))
    assert named and all((folder / "feedback" / name).is_file() for name in named), named


def test_a_passing_check_with_a_note_prints_the_note(pytester, bundle):
    """A function that leaves gradients switched off passes its own checks; the summary still tells the learner."""
    from conftest import inserted
    folder = into(pytester, bundle)
    (folder / "activations.py").write_text(inserted("activations", "def sigmoid_grad", "torch.set_grad_enabled(False)"))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "sigmoid_grad")
    assert result.ret == pytest.ExitCode.OK
    assert "torchgrade: a note on sigmoid_grad::" in result.stdout.str()
    assert "gradient tracking" in result.stdout.str()
