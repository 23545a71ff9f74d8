"""`torchgrade nbgrader build | autograde`: parse, call, print (registered in grader/cli.py)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ...course_or_exit import load_course_or_exit

if TYPE_CHECKING:  # the spec (pydantic) loads with the course: `torchgrade check` starts its server sooner
    from ...spec import Course

COURSE_DIR = click.option("--course-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
                          show_default=True, help="the nbgrader course directory (where nbgrader_config.py is)")


def _load(path: Path) -> Course:
    return load_course_or_exit(path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def nbgrader() -> None:
    """Use the course in nbgrader: build its course directory, autograde into its gradebook."""


@nbgrader.command()
@COURSE_DIR
@click.option("--course", "course_path", type=click.Path(path_type=Path), default=Path("course.yaml"),
              show_default=True, help="course.yaml")
@click.option("--force", is_flag=True, help="overwrite files that differ from what would be written")
def build(course_dir: Path, course_path: Path, force: bool) -> None:
    """Write nbgrader_config.py and source/<module>/<module>.ipynb, one assignment per module."""
    from .build import BuildError, assignments, build_course_dir

    course = _load(course_path)
    try:
        written = build_course_dir(course, course_dir, force=force)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"wrote {path}")
    names = " ".join(a.name for a in assignments(course))
    click.echo(f"\nNext, in {course_dir}: nbgrader generate_assignment <one of: {names}>")


@nbgrader.command()
@click.argument("assignment")
@COURSE_DIR
@click.option("--course", "course_path", type=click.Path(path_type=Path), default=None,
              help="course.yaml (default: the one nbgrader_config.py names, else ./course.yaml)")
@click.option("--student", "students", multiple=True, help="only this student (repeatable)")
@click.option("--jobs", "-j", type=int, default=None, help="parallel workers (default: the number of cores)")
def autograde(assignment: str, course_dir: Path, course_path: Path | None, students: tuple[str, ...],
              jobs: int | None) -> None:
    """Grade submitted/<student>/ASSIGNMENT/*.ipynb in the sandbox (no kernels); write nbgrader's gradebook."""
    if importlib.util.find_spec("nbgrader") is None:
        raise click.ClickException("nbgrader is not installed; pip install 'torchgrade[nbgrader]'")
    from ...grading import default_jobs, start_servers

    pool = start_servers(jobs or default_jobs())  # they import torch while nbgrader, the course and the plans load
    _without_iri_grammars()
    try:
        _autograde(assignment, course_dir, course_path, students, pool)
    finally:
        pool.close()


def _without_iri_grammars() -> None:
    """Importing nbgrader imports jsonschema, which compiles rfc3987_syntax's grammars (≈ 1.2 CPU s, all of
    the import's extra cost) only to check the 'iri' string formats. Nothing in this process checks formats
    (nbformat validates without a format checker), so the module is marked absent, as jsonschema allows."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]


def _autograde(assignment: str, course_dir: Path, course_path: Path | None, students: tuple[str, ...], pool) -> None:
    from .autograde import AutogradeError, autograde as run_autograde, configured_course_file

    course = _load(course_path or configured_course_file(course_dir) or Path("course.yaml"))

    def show(result) -> None:
        errors = [r.details["error"] for r in result.notebooks.values() if r is not None and r.details.get("error")]
        click.echo(f"{result.student:<24} {result.score:g}" + (f"  could not be graded: {errors[0]}" if errors else ""))

    try:
        results = run_autograde(course, course_dir, assignment, students=list(students) or None,
                                jobs=pool.jobs, on_result=show, servers=pool)
    except AutogradeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"\n{len(results)} submissions of {assignment} graded into nbgrader's gradebook; "
               f"`nbgrader export` or formgrader shows them.")
    ungradable = [r.student for r in results if any(n is not None and n.details.get("error")
                                                    for n in r.notebooks.values())]
    if ungradable:
        click.echo(f"Could not grade {len(ungradable)} of them: {', '.join(ungradable)} (recorded with 0 points and the "
                   f"reason in their comments; run the same command again to grade them again).")
        sys.exit(1)
