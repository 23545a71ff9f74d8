"""The grader process's own peak memory per submission while it grades hostile submissions.

    python benchmarks/grader_memory.py [--out FILE] [--bound-mb 512]

Everything the grader reads from a submission is parsed in its own process: the notebook (bounded in
grader/notebook.py: its JSON values, each cell's code), the PNGs a plot saved (grader/kinds/plot/judge/png.py:
dimensions checked from the header, decoded a band of rows at a time) and the records the sandboxed
child wrote (grader/wire.py: the unpickled size estimated from the opcodes, against one budget per
submission). This grades, one at a time and through the same path as `torchgrade grade` (the cached
plan of the full course, `grade_class` with a warm fork server), after a warm-up with a correct
submission:

  1. a correct submission (solutions/ copied);
  2. a 12.5 MB notebook whose one cell is one enormous expression (beside the solutions' code);
  3. a ~47 MB notebook of many small cells, just under the notebook's bound on JSON values, and a
     ~28 MB one whose metadata holds as many distinct keys (a key costs two objects, one value counted);
  4. plots.py whose plot_activation saves a 6300 × 6300 PNG (a few kB) and returns a figure;
  5. experiments.py whose gradient_norms returns one list holding the same 100 000-float list 100 000
     times (shared, so the record is small; unfolded, 10^10 items);
  6. experiments.py whose gradient_norms returns 5 million plain floats once (a 45 MB record).

Before each, the grader's peak resident memory is reset (writing 5 to /proc/self/clear_refs resets
VmHWM on Linux) and VmHWM is read after; where that is not possible the growth of ru_maxrss is
reported instead, which only shows peaks above every earlier one. The sandboxed child and the fork
server are other processes: their memory is not counted (the child has its own limit).
Prints a Markdown table (and writes it to --out); exits 1 if any peak passes the bound.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from grader.batch import find_pending, grade_class, grading_options  # noqa: E402
from grader.grading import plan_for, start_servers  # noqa: E402
from grader.intake import Submission  # noqa: E402
from grader.notebook import MAX_JSON_VALUES  # noqa: E402
from grader.scoring import SubmissionResult  # noqa: E402
from grader.spec import load_course  # noqa: E402

MB = 1 << 20
MODULES = ("activations", "losses", "initializers", "plots", "experiments", "answers")


# --- the grader's own peak memory -------------------------------------------------------------------------

def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _maxrss_bytes() -> int:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb if sys.platform == "darwin" else kb * 1024  # bytes on macOS, kB on Linux


class PeakMeter:
    """Resident memory of this process now, and its peak since `reset` (VmHWM, or ru_maxrss's growth)."""

    def __init__(self) -> None:
        self.method = "VmHWM (reset through /proc/self/clear_refs)"
        try:
            Path("/proc/self/clear_refs").write_text("5")
            if _status_kb("VmHWM") is None:
                raise OSError("no VmHWM")
        except OSError:
            self.method = "ru_maxrss growth (VmHWM could not be reset: a peak below an earlier one shows as 0)"
        self._start_maxrss = 0

    @property
    def resets(self) -> bool:
        return self.method.startswith("VmHWM")

    def rss(self) -> int:
        kb = _status_kb("VmRSS")
        return kb * 1024 if kb is not None else _maxrss_bytes()

    def reset(self) -> None:
        if self.resets:
            Path("/proc/self/clear_refs").write_text("5")
        self._start_maxrss = _maxrss_bytes()

    def peak(self) -> int:
        if self.resets:
            return (_status_kb("VmHWM") or 0) * 1024
        return max(self._start_maxrss, _maxrss_bytes())


# --- the submissions (the attacks as tests/boundary_kit.py and tests/test_containment_parsing.py build them)

def write_notebook(path: Path, sources: list[str], metadata_keys: int = 0) -> Path:
    """A format-4 notebook whose code cells hold `sources`, written a cell at a time; `metadata_keys`: that
    many distinct keys in the notebook's metadata (each `"k0000001":""`, 14 bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"cells": [')
        for index, source in enumerate(sources):
            handle.write(("," if index else "") + json.dumps(
                {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}))
        handle.write('], "metadata": {')
        for start in range(0, metadata_keys, 100_000):
            handle.write(("," if start else "") + ",".join(
                f'"k{index:07d}":""' for index in range(start, min(metadata_keys, start + 100_000))))
        handle.write('}, "nbformat": 4, "nbformat_minor": 5}')
    return path


def json_values(cells: list[str]) -> int:
    """What grader.notebook counts of `cells` written as a notebook (8 a cell, and those in its source)."""
    return sum(8 + c.count(",") + c.count("[") + c.count("{") for c in cells)


def solution_cells() -> list[str]:
    """The reference modules, one cell each (a notebook submission's correct code)."""
    return [(REPO / "solutions" / f"{module}.py").read_text() for module in MODULES]


def good(root: Path, name: str) -> Path:
    return Path(shutil.copytree(REPO / "solutions", root / name))


def enormous_expression(root: Path) -> Path:
    """One cell that is one 12.5 MB expression (`x = 1+1+…`), between the solutions' cells."""
    cells = solution_cells()
    cells.insert(3, "x = " + "+".join(["1"] * 6_250_000) + "\n")
    write_notebook(root / "enormous-expression" / "work.ipynb", cells)
    return root / "enormous-expression"


def many_cells(root: Path) -> Path:
    """About 47 MB: the solutions' cells, then small cells up to just under MAX_JSON_VALUES values (each cell
    counts 8 as the grader counts them: its object, metadata and outputs, and 5 commas), so the notebook is
    parsed, not refused."""
    cells = solution_cells()
    budget = MAX_JSON_VALUES - 10 - json_values(cells)
    pad = "#" * 80
    cells += [f"v{index} = {index}  {pad}\n" for index in range(budget // 8 - 1)]
    path = write_notebook(root / "many-cells" / "work.ipynb", cells)
    return within_bound(path)


def many_keys(root: Path) -> Path:
    """About 28 MB: the solutions' cells, and the notebook's metadata one object of distinct keys up to just
    under MAX_JSON_VALUES (a key and its value cost one comma as the grader counts, two objects once parsed)."""
    cells = solution_cells()
    return within_bound(write_notebook(root / "many-keys" / "work.ipynb", cells,
                                       metadata_keys=MAX_JSON_VALUES - 20 - json_values(cells)))


def within_bound(path: Path) -> Path:
    raw = path.read_bytes()
    assert raw.count(b",") + raw.count(b"[") + raw.count(b"{") <= MAX_JSON_VALUES, "over the notebook's bound"
    return path.parent


HUGE_PNG = '''

from PIL import Image as _Image

_reference_plot_activation = plot_activation


def plot_activation(name, path):
    """The right figure, but the file saved is 6300 x 6300 pixels (a few kB: 40 million pixels decoded)."""
    figure = _reference_plot_activation(name, path)
    image = _Image.new("1", (6300, 6300), 1)
    image.paste(0, (0, 3100, 6300, 3109))
    image.save(path, format="PNG")
    return figure
'''


def huge_png(root: Path) -> Path:
    folder = good(root, "huge-png")
    with open(folder / "plots.py", "a") as handle:
        handle.write(HUGE_PNG)
    return folder


#: gradient_norms returns BIG as it is, not encoded (encoding keeps 1000 items of 3 levels), so the record
#: the child writes holds it: the learner's code runs in the child beside the code that writes the records.
RAW_RECORD = '''

import grader.recording as _recording

_encode = _recording.encode_value


def _as_it_is(value, depth=0):
    return value if value is BIG else _encode(value, depth)


_recording.encode_value = _as_it_is
'''

SHARED_LIST = RAW_RECORD + '''
_INNER = [0.5] * 100_000
BIG = [_INNER] * 100_000  # pickled once each (memo); unfolded, 10^10 floats


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    return BIG
'''

PLAIN_FLOATS = RAW_RECORD + '''
BIG = [float(i) for i in range(5_000_000)]  # 45 MB pickled; within the record budget's estimate
_reference_gradient_norms = gradient_norms
_calls = []


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    _calls.append(1)
    if len(_calls) == 1:
        return BIG
    return _reference_gradient_norms(activation, depth, init=init, width=width, seed=seed)
'''


def experiments_with(code: str, name: str) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        folder = good(root, name)
        with open(folder / "experiments.py", "a") as handle:
            handle.write(code)
        return folder
    return make


#: (what the submission is, its maker, the exercise whose verdict the table shows: None for the errors)
CASES: list[tuple[str, Callable[[Path], Path], str | None]] = [
    ("correct (solutions)", lambda root: good(root, "correct"), None),
    ("notebook, 12.5 MB: one enormous expression", enormous_expression, None),
    ("notebook, ~47 MB: small cells up to the JSON value bound", many_cells, None),
    ("notebook, ~28 MB: metadata of 2 million distinct keys", many_keys, None),
    ("plot_activation saves a 6300 × 6300 PNG", huge_png, "plot_activation"),
    ("record: one list holding the same list 100 000 times", experiments_with(SHARED_LIST, "shared-list"),
     "gradient_norms"),
    ("record: 45 MB of plain floats", experiments_with(PLAIN_FLOATS, "plain-floats"), "gradient_norms"),
]


# --- grading -------------------------------------------------------------------------------------------------

def outcome(result: SubmissionResult, watch: str | None) -> str:
    """The score, and what went wrong: why it was not graded, the watched exercise's first check that did not
    pass, or else the exercises scored as errors."""
    if result.details.get("error"):
        return f"not graded: {result.details['error'][:100]}".replace("|", "/")
    text = f"{result.score:g} / {result.max_score:g}"
    exercise = next((e for e in result.exercises if e.id == watch), None)
    if exercise is not None:
        text += f"; {exercise.id} {exercise.score:g} / {exercise.max_score:g}"
        missed = next((c for c in exercise.checks if c.status in ("failed", "error")), None)
        if missed is not None:
            text += f", {missed.name} {missed.status}: {missed.feedback.splitlines()[0][:100]}"
    else:
        errors = sorted({e.id for e in result.exercises for c in e.checks if c.status == "error"})
        if errors:
            text += f"; errors in {', '.join(errors)}"
    return text.replace("|", "/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--bound-mb", type=int, default=512, help="peak above the baseline allowed per submission")
    parser.add_argument("--course", type=Path, default=REPO / "course.yaml")
    args = parser.parse_args()

    meter = PeakMeter()
    started = time.perf_counter()
    course = load_course(args.course)
    options = grading_options(course, hidden=True)
    pool = start_servers(1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="torchgrade-memory-") as tmp:
        root = Path(tmp)
        try:
            plan = plan_for(course, hidden=True, cuda=options["cuda"], workdir=root / "plan")

            def grade(folder: Path) -> tuple[SubmissionResult, float]:
                submission = Submission.from_path(folder, course.modules)
                pending = find_pending(course, [submission], root / "out", options=options, force=True)
                began = time.perf_counter()
                run = grade_class(plan, pending, root / "out", jobs=1, pool=pool, quiet=True)
                return run.results[0], time.perf_counter() - began

            folders = [make(root / "subs") for _, make, _ in CASES]  # made first: making them is not grading
            warm, _ = grade(good(root / "subs", "warm-up"))
            print(f"warm-up (solutions): {outcome(warm, None)}", flush=True)
            for (label, _, watch), folder in zip(CASES, folders):
                gc.collect()
                before = meter.rss()
                meter.reset()
                result, wall = grade(folder)
                peak = meter.peak()
                rows.append({"label": label, "before": before, "peak": peak, "wall": wall,
                             "outcome": outcome(result, watch)})
                print(f"{label}: peak {peak / MB:.0f} MB, {(peak - before) / MB:.0f} MB above its start "
                      f"({before / MB:.0f} MB), {wall:.1f} s; {rows[-1]['outcome']}", flush=True)
        finally:
            pool.close()

    bound = args.bound_mb * MB
    baseline = rows[0]["before"]  # after the warm-up: the plan, torch, matplotlib and the judges loaded
    for row in rows:  # the bound holds above the baseline and above each submission's own start
        row["above"] = max(row["peak"] - baseline, row["peak"] - row["before"], 0)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"Machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, torch {torch.__version__}; "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; commit {commit}; load average "
        f"{uptime.split('load average:')[-1].strip()}.",
        f"Peak memory: {meter.method}. Baseline (the grader's resident memory after the warm-up): "
        f"{baseline / MB:.0f} MB. Bound: {args.bound_mb} MB above the baseline and above each submission's start.",
        "",
        "| submission | resident at its start | peak | peak above baseline (above its start) | wall s | result |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [f"| {r['label']} | {r['before'] / MB:.0f} MB | {r['peak'] / MB:.0f} MB | "
              f"**{(r['peak'] - baseline) / MB:.0f} MB** ({(r['peak'] - r['before']) / MB:.0f} MB) | {r['wall']:.1f} | "
              f"{r['outcome']} |" for r in rows]
    over = [r["label"] for r in rows if r["above"] > bound]
    lines += ["", f"Largest peak above baseline: {max(r['above'] for r in rows) / MB:.0f} MB "
                  f"({'over' if over else 'within'} the bound of {args.bound_mb} MB); "
                  f"{time.perf_counter() - started:.0f} s in all."]
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")
    if over:
        print(f"over the bound: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
