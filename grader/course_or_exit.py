"""Load a course for a command line: the teacher sees `file:line: field: problem` lines and exit 2."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .spec import Course


def load_course_or_exit(path: Path) -> Course:
    from .spec import SpecError, SpecErrors, load_course  # imported here: `torchgrade --help` needs no spec
    try:
        return load_course(path)
    except SpecErrors as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        sys.exit(2)
    except SpecError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
