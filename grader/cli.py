"""torchgrade's command line: parse, call, print. No grading logic lives here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .batch import default_jobs, grade_many
from .intake import Submission, SubmissionError
from .report import (gradescope_json, junit_xml, render_feedback, render_summary, render_table, write_atomic,
                     write_gradebook, write_results)
from .run import build_plan
from .spec import Course, SpecError, SpecErrors, load_course

COURSE_OPTION = click.option("--course", "course_path", type=click.Path(path_type=Path), default=None,
                             help="course.yaml (default: ./course.yaml)")


def _load(course_path: Path | None) -> Course:
    path = course_path or Path("course.yaml")
    try:
        return load_course(path)
    except SpecErrors as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        sys.exit(2)
    except SpecError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _submissions(paths: tuple[Path, ...]) -> list[Submission]:
    try:
        return [Submission.from_path(p) for p in paths]
    except SubmissionError as exc:
        raise click.UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="torchgrade")
def main() -> None:
    """Exercises and an isolated autograder for neural-network fundamentals in PyTorch."""


@main.command()
@COURSE_OPTION
def validate(course_path: Path | None) -> None:
    """Check course.yaml and every exercise; exit 2 with file:line: field: problem."""
    course = _load(course_path)
    click.echo(f"{course.file}: {len(course.exercises)} exercises, {course.max_score:g} points — valid.")


@main.command()
@click.argument("submission", type=click.Path(path_type=Path), default=Path("."))
@click.option("-k", "exercise_ids", multiple=True, help="only this exercise (repeatable)")
@COURSE_OPTION
def check(submission: Path, exercise_ids: tuple[str, ...], course_path: Path | None) -> None:
    """Self-check: the public checks on one submission; exit 1 if any fails."""
    course = _load(course_path)
    unknown = [e for e in exercise_ids if e not in {x.id for x in course.exercises}]
    if unknown:
        raise click.UsageError(f"no exercise called {', '.join(unknown)}")
    plan = build_plan(course, hidden=False, exercises=list(exercise_ids) or None)
    (result,) = grade_many(plan, _submissions((submission,)), jobs=1)
    click.echo(render_table(result))
    feedback = render_feedback(result)
    if feedback:
        click.echo("\n" + feedback)
    sys.exit(0 if result.score == result.max_score else 1)


@main.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="where results go")
@click.option("--jobs", "-j", type=int, default=None, help="parallel workers (default: the number of cores)")
@click.option("--format", "formats", multiple=True, type=click.Choice(["gradescope", "junit"]),
              help="also write Gradescope results or JUnit XML (repeatable)")
@click.option("--public-only", is_flag=True, help="leave out hidden checks")
@COURSE_OPTION
def grade(submissions: tuple[Path, ...], out_dir: Path, jobs: int | None, formats: tuple[str, ...],
          public_only: bool, course_path: Path | None) -> None:
    """Grade submissions (hidden checks too); write DIR/<name>/results.json and DIR/gradebook.csv."""
    course = _load(course_path)
    subs = _submissions(submissions)
    plan = build_plan(course, hidden=not public_only)

    def save(result) -> None:
        write_results(result, out_dir)
        folder = out_dir / result.submission
        if "gradescope" in formats:
            write_atomic(folder / "gradescope.json", json.dumps(gradescope_json(result), indent=2, ensure_ascii=False))
        if "junit" in formats:
            write_atomic(folder / "junit.xml", junit_xml(result))

    results = grade_many(plan, subs, jobs=jobs or default_jobs(), on_result=save)
    write_gradebook(results, [e.id for e in course.exercises], out_dir / "gradebook.csv")
    if len(results) <= 5:
        click.echo("\n\n".join(render_table(r) for r in results))
    else:
        click.echo(render_summary(results))
    click.echo(f"\nResults in {out_dir}/<submission>/results.json; gradebook in {out_dir / 'gradebook.csv'}")
