"""`torchgrade gradescope build`: parse, call, print (registered in grader/cli.py)."""
from __future__ import annotations

from pathlib import Path

import click

from ...course_or_exit import load_course_or_exit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def gradescope() -> None:
    """Grade the course on Gradescope: write its autograder zip."""


@gradescope.command()
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=Path("autograder.zip"),
              show_default=True, help="the autograder zip to upload to Gradescope")
@click.option("--course", "course_path", type=click.Path(path_type=Path), default=Path("course.yaml"),
              show_default=True, help="course.yaml")
def build(out: Path, course_path: Path) -> None:
    """Write Gradescope's autograder: setup.sh, run_autograder, the grader's wheel, the course and its references."""
    from .build import GradescopeBuildError, build_autograder

    course = load_course_or_exit(course_path)
    try:
        autograder = build_autograder(course, out)
    except GradescopeBuildError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {autograder.path} ({len(autograder.files)} files): upload it as the autograder of a "
               f"Gradescope programming assignment (docs/teachers/gradescope.md).")
