"""The package's layers are import rules a tool checks (.importlinter), and a back-edge fails the suite.

`lint-imports` reads the contracts from .importlinter at the repository root. Each contract is also
shown to fail: an import that breaks it is added to a copy of the package, and the linter must name
that contract as broken.
"""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = REPO / ".importlinter"
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the package `grader` found under root, with the contracts in root/.importlinter."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--no-logo", "--config", str(root / ".importlinter")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def contract_names() -> dict[str, str]:
    config = configparser.ConfigParser()
    config.read(CONTRACTS)
    return {section.split(":")[-1]: config[section]["name"] for section in config.sections()
            if section.startswith("importlinter:contract:")}


def test_every_import_keeps_the_layer_contracts():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contract_names())} kept, 0 broken." in result.stdout


# (contract id, the module given a new import, the import): one back-edge for each contract.
BACK_EDGES = [
    ("layers", "grader/report/terminal.py", "from grader import batch"),
    ("layers", "grader/spec/refs.py", "from grader import cases"),
    ("child-side", "grader/probes/core.py", "from grader.spec import Exercise"),
    ("child-side", "grader/child.py", "from grader.checks import base"),
    ("judging-side", "grader/kinds/values/judge.py", "from grader.probes.init import fill"),
    ("judging-side", "grader/scoring.py", "from grader.sandbox import api"),
    ("child-side", "grader/kinds/plot/probe/figure.py", "from grader.kinds.plot import judge"),
    ("judging-side", "grader/kinds/question/model.py", "from grader.kinds.question import probe"),
    ("kinds", "grader/checks/compare.py", "from grader.kinds.values import judge"),
    ("kinds", "grader/kinds/values/judge.py", "from grader import scoring"),
    ("kind-models", "grader/kinds/values/model.py", "from grader.checks import compare"),
    ("sandbox", "grader/sandbox/api.py", "from grader import wire"),
    ("exports", "grader/report/junit.py", "from grader.report import gradescope"),
    ("front-ends", "grader/integrations/pytest_plugin.py", "from grader.integrations.nbgrader import cells"),
    ("layers", "grader/plan.py", "from grader import judge"),
    ("one-facade", "grader/integrations/gradescope/run.py", "from grader import plan_cache"),
    ("one-facade", "grader/integrations/nbgrader/session.py", "from grader.sandbox.server_client import ForkServer"),
]


@pytest.mark.parametrize("contract, module, line", BACK_EDGES, ids=[f"{c}:{m}" for c, m, _ in BACK_EDGES])
def test_a_back_edge_breaks_its_contract(tmp_path, contract, module, line):
    shutil.copytree(REPO / "grader", tmp_path / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONTRACTS, tmp_path / ".importlinter")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    # the contract's name heads its section of the report (the report wraps long names at 80 columns)
    assert " ".join(contract_names()[contract].split()) in " ".join(broken.split()), result.stdout
