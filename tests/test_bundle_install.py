"""A student installs the grader from the bundle alone: a fresh virtualenv (PyTorch and the other
requirements already there, no index reachable), `pip install <the bundle's wheel>`, then `pytest`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from grader.release.wheel import build_wheel, wheel_name

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


def preinstalled(where: Path) -> Path:
    """The site-packages that hold torch, as a folder of links without any torchgrade: what a student's
    machine has before the bundle (the grader must come from the bundle's wheel, not from here)."""
    source = Path(torch.__file__).resolve().parents[1]
    where.mkdir()
    for entry in source.iterdir():
        if entry.name.startswith(("torchgrade", "__editable__", "grader")) or entry.suffix == ".pth":
            continue
        (where / entry.name).symlink_to(entry)
    return where


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("student-machine")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "preinstalled.pth").write_text(str(preinstalled(root / "preinstalled")) + "\n")
    return venv


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV"))}
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_the_bundle_holds_the_grader_as_a_wheel_and_its_readme_gives_the_two_commands(bundle):
    wheel = bundle / wheel_name()
    assert wheel.is_file()
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/cli.py" in names and "grader/integrations/pytest_plugin.py" in names
    assert all(n.startswith(("grader/", "torchgrade-")) for n in names)  # no course, no solutions
    readme = (bundle / "README.md").read_text()
    assert f"pip install {wheel.name}\npytest\n" in readme


def test_the_wheel_is_the_same_for_the_same_sources(tmp_path):
    assert build_wheel(tmp_path / "a").read_bytes() == build_wheel(tmp_path / "b").read_bytes()


def test_a_fresh_venv_installs_from_the_bundle_alone_and_pytest_runs_there(bundle, fresh_venv, repo, tmp_path):
    work = tmp_path / "bundle"
    shutil.copytree(bundle, work)
    python = str(fresh_venv / "bin" / "python")
    env = clean_env()
    missing = subprocess.run([python, "-c", "import grader"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert missing.returncode != 0  # nothing of torchgrade before the install
    # pip's dependency check runs against what is installed: no --no-deps, and no index to fetch from
    install = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index",
                              str(work / wheel_name())], capture_output=True, text=True, env=env, cwd=work, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    where = subprocess.run([python, "-c", "import grader; print(grader.__file__)"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert where.stdout.strip().startswith(str(fresh_venv)), where.stdout + where.stderr
    shutil.copy(repo / "solutions" / "activations.py", work / "activations.py")
    # One pytest (its interpreter pays for torch's import): sigmoid's checks on the solution, bce_loss's on the starter.
    run = subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-k", "sigmoid or bce_loss"],
                         capture_output=True, text=True, env=env, cwd=work, timeout=600)
    shown = run.stdout[-3000:] + run.stderr[-2000:]
    outcomes: dict[str, set[str]] = {}
    for line in run.stdout.splitlines():
        if line.startswith(("PASSED course.yaml::", "FAILED course.yaml::")):
            outcomes.setdefault(line.split("::")[1], set()).add(line.split()[0])
    assert run.returncode == 1, shown
    assert outcomes["sigmoid"] == {"PASSED"} and outcomes["bce_loss"] == {"FAILED"}, shown
    assert "FAILED course.yaml::bce_loss::values" in run.stdout, shown
