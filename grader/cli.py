"""torchgrade's command line: parse, call, print. No grading logic lives here.

Heavy modules (torch, the checks, the reporters) are imported inside the commands that need them:
`--help` imports no torch, and `check` starts its fork server first, so that the server imports
torch while this process loads the course (which imports torch to resolve references) and the plan.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import click

from . import __version__
from .course_or_exit import load_course_or_exit
from .schemas import NAMES as SCHEMA_NAMES

if TYPE_CHECKING:
    from .spec import Course

COURSE_OPTION = click.option("--course", "course_path", type=click.Path(path_type=Path), default=None,
                             help="course.yaml (default: ./course.yaml)")
NO_CACHE_OPTION = click.option("--no-cache", is_flag=True,
                               help="build the grading plan afresh instead of reusing the cached one "
                                    "(also: TORCHGRADE_NO_PLAN_CACHE=1)")


def _load(course_path: Path | None) -> Course:
    from .collector import paused
    with paused():  # loading a course imports torch: objects, not garbage, and collecting meanwhile costs 10 %
        return load_course_or_exit(course_path or Path("course.yaml"))


def _sandbox_policy(course: Course) -> None:
    """A protection missing here (Landlock, own uid, IPC namespace): one warning each (warn), or a refusal with exit 2
    (refuse), before anything is graded."""
    from .grading import sandbox_warnings
    from .sandbox import SandboxRefused
    try:
        warnings = sandbox_warnings(course)
    except SandboxRefused as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    for text in warnings:
        click.echo(text, err=True)


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """What the teacher or student named cannot be graded (an unknown exercise, an unreadable submission,
    two submissions of the same name): a usage error that says why."""
    from .batch import DuplicateNames
    from .grading import UnknownExercises
    from .intake import SubmissionError
    try:
        yield
    except (UnknownExercises, SubmissionError, DuplicateNames) as exc:
        raise click.UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="torchgrade")
def main() -> None:
    """Exercises and an isolated autograder for neural-network fundamentals in PyTorch."""


@main.command()
@COURSE_OPTION
@click.option("--require-audit", is_flag=True,
              help="also refuse (exit 2) a course whose last green `torchgrade audit` ran on other files")
def validate(course_path: Path | None, require_audit: bool) -> None:
    """Check course.yaml and every exercise; exit 2 with file:line: field: problem."""
    course = _load(course_path)
    if require_audit:
        from .audit import stamp_problem
        problem = stamp_problem(course)
        if problem:
            click.echo(problem, err=True)
            sys.exit(2)
    click.echo(f"{course.file}: {len(course.exercises)} exercises, {course.max_score:g} points — valid.")


@main.command()
@click.argument("submission", type=click.Path(path_type=Path), default=Path("."))
@click.option("-k", "exercise_ids", multiple=True, help="only this exercise (repeatable)")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="also write one self-contained HTML page: every failing check's feedback beside its pictures")
@COURSE_OPTION
@NO_CACHE_OPTION
def check(submission: Path, exercise_ids: tuple[str, ...], html_path: Path | None, course_path: Path | None,
          no_cache: bool) -> None:
    """Self-check: the public checks on one submission (a folder, or a notebook); exit 1 if any fails."""
    from .grading import self_check, start_self_check_servers
    servers = start_self_check_servers()  # torch-free: the servers start importing torch now
    try:
        course = _load(course_path)
        _sandbox_policy(course)
        with _usage_errors():
            result = self_check(course, submission, exercises=exercise_ids, cache=not no_cache, servers=servers)
    finally:
        servers.close()
    from .report import pointing_at, render_feedback, render_table, write_attachments, write_page
    pictures = write_attachments(result, Path("."))
    click.echo(render_table(result))
    feedback = render_feedback(result, lambda text: pointing_at(text, Path(".")))
    if feedback:
        click.echo("\n" + feedback)
    if html_path is not None:
        click.echo(f"\nThe feedback with its pictures, on one page: {write_page(result, html_path)}")
    elif pictures:
        click.echo(f"\nPictures for the feedback above are in {pictures[0].parent}/ "
                   f"(or see them beside the feedback: torchgrade check --html feedback.html)")
    sys.exit(0 if result.score == result.max_score else 1)


@main.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="where results go")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="parallel workers (default: the number of cores)")
@click.option("--format", "formats", multiple=True, type=click.Choice(["gradescope", "junit"]),
              help="also write Gradescope results or JUnit XML (repeatable)")
@click.option("--public-only", is_flag=True, help="leave out hidden checks")
@click.option("--force", is_flag=True, help="regrade every submission, even those already graded under the same "
                                            "course and files")
@click.option("--shard", "shard_spec", default=None, metavar="K/N",
              help="grade only the K-th of N deterministic slices of the submissions (K from 1); join with merge")
@click.option("--progress/--no-progress", "bar", default=None,
              help="a progress bar (default: when stderr is a terminal; plain lines otherwise)")
@click.option("--verbose", "-v", is_flag=True, help="print every submission's scores and full feedback")
@COURSE_OPTION
@NO_CACHE_OPTION
def grade(submissions: tuple[Path, ...], out_dir: Path, jobs: int | None, formats: tuple[str, ...],
          public_only: bool, force: bool, shard_spec: str | None, bar: bool | None, verbose: bool,
          course_path: Path | None, no_cache: bool) -> None:
    """Grade submissions (hidden checks too); write DIR/<name>/results.json and DIR/gradebook.csv.

    A rerun grades only what is missing or changed (submission files, course, options); --force regrades all."""
    from .grading import default_jobs, grade_class, start_servers
    from .report import render_class_brief, render_lines
    from .report.class_report import render_text, summarise
    from .shard import ShardError, parse_shard
    from .text import shown

    # the servers import torch while this process loads the course, hashes the submissions and loads the plan
    servers = start_servers(min(jobs or default_jobs(), max(1, len(submissions))))
    try:
        course = _load(course_path)
        _sandbox_policy(course)
        try:
            shard = parse_shard(shard_spec) if shard_spec else None
        except ShardError as exc:
            raise click.UsageError(str(exc)) from None
        with _usage_errors():
            graded = grade_class(course, submissions, out_dir, hidden=not public_only, force=force, shard=shard,
                                 formats=formats, jobs=jobs, cache=not no_cache, bar=bar, servers=servers)
    finally:
        servers.close()
    run, jobs = graded.run, graded.jobs
    results = run.results
    if verbose:
        from .report.show import render_full
        click.echo("\n\n".join(render_full(r, out_dir / r.submission) for r in results))
        click.echo("\n" + render_text(summarise(results)) + "\n")
    click.echo(render_lines(results))
    click.echo("\n" + render_class_brief(summarise(results)))
    where = f" (shard {shard}: {len(results)} of {graded.submissions})" if shard else ""
    click.echo(f"\nGraded {len(run.graded)}, skipped {len(run.skipped)} already graded{where}, "
               f"in {run.wall_s:.1f} s with {jobs} worker{'s' if jobs > 1 else ''}.")
    if run.retry:
        click.echo(f"The sandbox itself failed on {', '.join(run.retry)} (not the students' doing): "
                   f"run the same command again to grade {'them' if len(run.retry) > 1 else 'it'} again.", err=True)
    if run.ungradable:
        click.echo(f"Could not grade {len(run.ungradable)} of {len(results)} submissions: {', '.join(map(shown, run.ungradable))} "
                   f"(the reason is the \"error\" in each one's results.json; the next run tries them again).")
    click.echo(f"Results in {out_dir}/<submission>/results.json; gradebook in {out_dir / 'gradebook.csv'}"
               + ("" if verbose else f"; one submission's feedback: torchgrade show {out_dir / '<submission>'}"))
    if run.not_graded:
        sys.exit(1)


@main.command()
@click.argument("results", metavar="SUBMISSION_RESULTS", type=click.Path(path_type=Path, exists=True))
def show(results: Path) -> None:
    """Print one graded submission's scores and full feedback: DIR/<submission> (or its results.json)."""
    from .report.show import render_full
    from .resume import ShowError, load_for_show
    try:
        result, folder = load_for_show(results)
    except ShowError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(render_full(result, folder))


@main.command()
@click.option("-k", "exercise_ids", multiple=True, help="only this exercise (repeatable; writes no stamp)")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="parallel workers (default: the number of cores)")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="also write the whole audit (which checks kill which mistakes) as JSON")
@click.option("--verbose", "-v", is_flag=True, help="list every mistake and check, not only the problems")
@COURSE_OPTION
@NO_CACHE_OPTION
def audit(exercise_ids: tuple[str, ...], jobs: int | None, json_path: Path | None, verbose: bool,
          course_path: Path | None, no_cache: bool) -> None:
    """Grade every catalogued mistake and accepted variant; exit 1 if a mistake loses no points or an
    accepted variant (or the solutions) loses any. A green audit of the whole course writes its stamp."""
    from .audit import AuditError, audit_json, render_audit, stamp_summary, write_stamp
    from .grading import audit as audit_course
    course = _load(course_path)
    _sandbox_policy(course)
    try:
        with _usage_errors():
            result = audit_course(course, exercises=exercise_ids, jobs=jobs, cache=not no_cache)
    except AuditError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(render_audit(result, verbose=verbose))
    if json_path is not None:
        json_path.write_text(json.dumps(audit_json(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if result.ok and result.complete:
        click.echo(f"Stamped {write_stamp(course, stamp_summary(result))} (torchgrade validate --require-audit).")
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="a new (or empty) folder for the student bundle")
@COURSE_OPTION
def release(out_dir: Path, course_path: Path | None) -> None:
    """Write the student bundle: public exercises, starters, a notebook, expected values; no solutions."""
    from .release import ReleaseError, write_bundle
    course = _load(course_path)
    try:
        bundle = write_bundle(course, out_dir)
    except ReleaseError as exc:
        raise click.ClickException(str(exc)) from None
    wheel = next((f.name for f in bundle.files if f.suffix == ".whl"), "the grader's wheel")
    click.echo(f"Wrote the student bundle of {course.name} to {out_dir} ({len(bundle.files)} files, no solutions, "
               f"no hidden checks).\nStudents install the grader from it and check their work there with:\n"
               f"  pip install {wheel}\n  pytest")


@main.command()
@click.argument("out_dir", metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True,
              help="the class report's format")
def report(out_dir: Path, fmt: str) -> None:
    """Write DIR/gradebook.csv, a class report (report.md or report.html) and DIR/histogram.png."""
    from .report.class_report import render_text, summarise, write_class_report
    from .resume import load_all
    results = load_all(out_dir)
    if not results:
        raise click.UsageError(f"{out_dir} holds no <submission>/results.json; run torchgrade grade --out {out_dir}")
    for path in write_class_report(results, out_dir, fmt):
        click.echo(f"wrote {path}")
    click.echo("\n" + render_text(summarise(results)))


@main.command()
@click.argument("dirs", metavar="DIR...", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="where the joined results and gradebook.csv go")
def merge(dirs: tuple[Path, ...], out_dir: Path) -> None:
    """Join the outputs of grade --shard runs into one folder and one gradebook.csv."""
    from .shard import ShardError, merge as merge_shards
    try:
        merged = merge_shards(dirs, out_dir)
    except ShardError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Merged {len(merged.results)} submissions from {len(dirs)} folders into {out_dir}; "
               f"gradebook in {merged.gradebook}")
    ungradable = [r.submission for r in merged.results if r.details.get("error")]
    if ungradable:
        click.echo(f"Could not grade {len(ungradable)}: {', '.join(ungradable)} (the reason is the \"error\" in "
                   f"each one's results.json; grade them again with grade --shard, then merge again).")



@main.command()
@click.argument("name", type=click.Choice(SCHEMA_NAMES))
def schema(name: str) -> None:
    """Print the JSON Schema of results.json, of an exercise's YAML or of course.yaml."""
    from .schemas import schema_text
    click.echo(schema_text(name), nl=False)

from .integrations.nbgrader.cli import nbgrader as _nbgrader  # noqa: E402  (torchgrade nbgrader build|autograde)

main.add_command(_nbgrader)

from .integrations.gradescope.cli import gradescope as _gradescope  # noqa: E402  (torchgrade gradescope build)

main.add_command(_gradescope)


def run() -> None:
    """The console entry point (`torchgrade`, `python -m grader`): main(), then an immediate exit.

    Once a command is done and its output flushed, tearing torch down at interpreter exit only costs
    time (about 0.9 s here): every file is written and every fork server closed by then."""
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    from .grading import end_templates
    end_templates()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))
