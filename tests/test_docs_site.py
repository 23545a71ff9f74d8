"""The documentation site: it builds strictly, every page is in its navigation, and its links stay
inside the repository's docs (or are real URLs)."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Folders under docs/ that are not pages (mkdocs.yml's exclude_docs).
NOT_PAGES = ("_hooks",)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
URL = re.compile(r"^(https?|mailto):")

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocs_click")


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if not p.relative_to(DOCS).parts[0] in NOT_PAGES)


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node] if not URL.match(node) else []
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


@pytest.mark.integration  # runs mkdocs build
def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    # the generated pages really were generated: the check kinds from grader/spec, the CLI from click
    kinds = (tmp_path / "site" / "teachers" / "check-kinds" / "index.html").read_text(encoding="utf-8")
    from grader import kinds as kind_registry
    for kind, model in kind_registry.models().items():
        assert f"<code>{kind}</code>" in kinds, kind
        for name, field in model.model_fields.items():
            if field.description and "`" not in field.description:
                assert html.escape(" ".join(field.description.split()), quote=False) in kinds, (kind, name)
    assert "generated:" not in kinds
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    from grader.cli import main
    for name, command in main.commands.items():  # every command and subcommand there is, none listed by hand
        assert f"torchgrade {name}" in cli, name
        for sub in getattr(command, "commands", {}):
            assert f"torchgrade {name} {sub}" in cli, (name, sub)


def test_every_page_is_reachable_from_the_navigation() -> None:
    nav = set(_nav_pages(_config()["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in _pages()}
    assert pages - nav == set(), "pages missing from mkdocs.yml's nav"
    assert nav - pages == set(), "nav entries without a page"


def test_links_stay_inside_the_docs_or_are_urls() -> None:
    wrong = []
    for page in _pages():
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code is not links
        for target in LINK.findall(text):
            if URL.match(target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.is_relative_to(DOCS) or not path.exists():
                wrong.append(f"{page.relative_to(ROOT)}: {target}")
    assert wrong == []


#: Words that tell how the work on the project was organised rather than what the project does.
NARRATION = re.compile(r"\b(?:(?:first|second|third|fourth|fifth|sixth|next|this|that|previous|earlier|later) "
                       r"(?:round|session)s?|rounds? of work|device time|reviewer helper|helper session"
                       r"|other engineers?|the lead)\b", re.I)


@pytest.mark.parametrize("document", ["README.md", "CHANGELOG.md", "benchmarks/NOTES.md", "docs"])
def test_documents_speak_of_the_project_not_of_how_the_work_was_organised(document: str) -> None:
    path = ROOT / document
    files = sorted(path.rglob("*.md")) if path.is_dir() else [path]
    found = [f"{f.relative_to(ROOT)}:{n}: {m.group(0)}" for f in files
             for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
             for m in NARRATION.finditer(line)]
    assert found == []


def _readme_commands(needle: str) -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if needle in line]


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    (command, *_) = _readme_commands("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci.splitlines()
    assert "set -euo pipefail" in ci
    assert ci.rstrip().splitlines()[-1] == command, "the test command must be CI's last: its exit status is CI's"


def test_readme_commands_each_make_a_fresh_virtualenv_and_show_the_cpu_torch_route() -> None:
    grade = _readme_commands("torchgrade grade solutions")
    test = _readme_commands("python -m pytest")
    venvs = {line.split("python3 -m venv ")[1].split()[0] for line in grade + test if "python3 -m venv " in line}
    assert len(grade) == len(test) == 2 and len(venvs) == 2, "one virtualenv for grading, another for the tests"
    cpu = "pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install -e"
    assert all(cpu in line for line in (grade[1], test[1]))


def test_readme_is_read_in_five_minutes() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
