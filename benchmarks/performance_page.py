"""Benchmarks write what they measured to the docs' performance page, one row a run.

Each benchmark that gives one of the page's figures appends its run (date, commit, machine, load,
the figures side by side) to its own table in the section "Every run, as the benchmarks wrote it"
of docs/performance.md, between markers it owns; the page's other tables are written by hand.
`--no-page` on the benchmark's command line leaves the page alone.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "performance.md"
SECTION = "## Every run, as the benchmarks wrote it"
INTRO = ("Rows appended by the benchmarks themselves at the end of each run (`--no-page` to skip); the\n"
         "commit is marked `+changes` where the working tree differed from it.")


def commit() -> str:
    """The commit measured, marked `+changes` where the working tree differs from it (the page's own rows aside)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            f":!{PAGE.relative_to(REPO)}"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    return f"{head or 'unknown'}{'+changes' if dirty else ''}"


def machine() -> str:
    """This machine in a few words: architecture, cores this process may use, Python and torch."""
    torch = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                           text=True).stdout.strip() or "no torch"
    return (f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
            f"torch {torch}")


def append_run(benchmark: str, columns: list[str], cells: list[str], load: tuple[float, float]) -> None:
    """Add a row to `benchmark`'s table on the page (made on its first run): date, commit, machine, the
    load average before → after, then `cells` under `columns`."""
    header = ["date (UTC)", "commit", "machine", "load", *columns]
    row = [f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}", commit(), machine(), f"{load[0]:.1f} → {load[1]:.1f}",
           *cells]
    start, end = f"<!-- runs of {benchmark}: appended by benchmarks/{benchmark}.py -->", f"<!-- end of {benchmark} -->"
    line = "| " + " | ".join(cell.replace("|", "/") for cell in row) + " |\n"
    text = PAGE.read_text(encoding="utf-8")
    if start not in text:
        if SECTION not in text:
            text = text.rstrip("\n") + f"\n\n{SECTION}\n\n{INTRO}\n"
        table = ("| " + " | ".join(header) + " |\n" + "|" + " --- |" * len(header) + "\n")
        text = text.rstrip("\n") + f"\n\n### `benchmarks/{benchmark}.py`\n\n{start}\n{table}{end}\n"
    text = text.replace(end, line + end, 1)
    PAGE.write_text(text, encoding="utf-8")
    print(f"this run is in {PAGE}, section \"{SECTION[3:]}\"")
