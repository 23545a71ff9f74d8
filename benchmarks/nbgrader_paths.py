"""Both nbgrader paths on the same notebooks, in wall seconds.

    python benchmarks/nbgrader_paths.py [--assignment losses] [--students 20] [--jobs N]

Builds the nbgrader course directory from course.yaml, runs `nbgrader generate_assignment`,
then writes N submissions of the assignment: the released notebook answered, in turn, with the
code of solutions/, examples/alice, examples/bob and examples/starter. Two copies of that
directory are graded, one by stock `nbgrader autograde` (a kernel per notebook, the test cells
call torchgrade from inside it) and one by `torchgrade nbgrader autograde` (extracted code in
the sandbox, no kernel); each command's wall time is measured from outside, start-up included.
Prints the machine, both times and whether the two gradebooks agree.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.performance_page import append_run, commit  # noqa: E402
from grader.integrations.nbgrader.build import ANSWERS_CELL, build_course_dir  # noqa: E402
from grader.integrations.nbgrader.solution_source import read_module_source  # noqa: E402
from grader.spec import load_course  # noqa: E402

AUTHORS = ("solutions", "examples/alice", "examples/bob", "examples/starter")


def answered(release: dict, module_file: Path) -> dict:
    """The released notebook with each solution cell replaced by that function from `module_file`."""
    notebook = json.loads(json.dumps(release))
    wanted = {c["metadata"].get("nbgrader", {}).get("grade_id") for c in notebook["cells"]}
    if not module_file.is_file():
        return notebook
    source = read_module_source(module_file, {w for w in wanted if w})
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and not meta:
            cell["source"] = "\n".join(filter(None, [source.imports, "import torch"]))
        elif meta.get("solution"):
            name = meta["grade_id"]
            if name == ANSWERS_CELL:
                cell["source"] = source.helper_source
            elif name in source.functions:
                function = source.functions[name]
                cell["source"] = f"{function.head}\n{source.solution_body(name)}"
    return notebook


def run(command: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("TORCHGRADE_COURSE", None)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def torch_version() -> str:
    return subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                          text=True).stdout.strip()


def totals(course_dir: Path, assignment: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(assignment)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="losses")
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--course", type=Path, default=REPO / "course.yaml")
    parser.add_argument("--no-page", action="store_true", help="do not append the run to docs/performance.md")
    args = parser.parse_args()

    course = load_course(args.course)
    load_before, measured = os.getloadavg()[0], commit()
    work = Path(tempfile.mkdtemp(prefix="nbgrader-bench-"))
    try:
        base = work / "base"
        build_course_dir(course, base)
        run([sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment], base)
        notebook = f"{args.assignment}.ipynb"
        release = json.loads((base / "release" / args.assignment / notebook).read_text())
        for index in range(args.students):
            author = AUTHORS[index % len(AUTHORS)]
            folder = base / "submitted" / f"student{index:02d}" / args.assignment
            folder.mkdir(parents=True)
            answers = answered(release, REPO / author / f"{args.assignment}.py")
            (folder / notebook).write_text(json.dumps(answers))
        stock, fast = work / "stock", work / "fast"
        shutil.copytree(base, stock)
        shutil.copytree(base, fast)
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        fast_s = run([sys.executable, "-m", "grader", "nbgrader", "autograde", args.assignment, "--course-dir",
                      str(fast), "--course", str(args.course), *jobs], fast)
        stock_s = run([sys.executable, "-m", "nbgrader", "autograde", args.assignment], stock)
        agree = totals(stock, args.assignment) == totals(fast, args.assignment)
        exercises = sum(1 for e in course.exercises if e.module == args.assignment)
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {measured}; machine: {platform.machine()}, "
              f"{len(os.sched_getaffinity(0))} cores, {platform.system()}, Python {platform.python_version()}, "
              f"torch {torch_version()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
        print(f"{args.students} notebooks of '{args.assignment}' ({exercises} exercises each)")
        print(f"stock nbgrader autograde (a kernel per notebook):   {stock_s:7.1f} s  "
              f"({stock_s / args.students:.1f} s per notebook)")
        print(f"torchgrade nbgrader autograde (sandbox, no kernel): {fast_s:7.1f} s  "
              f"({fast_s / args.students:.1f} s per notebook)")
        print(f"speed-up: {stock_s / fast_s:.1f}x (target ≥ 20x), --jobs {args.jobs or 'default'}; "
              f"the two gradebooks {'agree' if agree else 'DIFFER'}")
        if not args.no_page:
            append_run("nbgrader_paths", ["notebooks", "--jobs", "stock nbgrader autograde",
                                          "torchgrade nbgrader autograde", "ratio (target ≥ 20×)", "gradebooks"],
                       [f"{args.students} of {args.assignment}", str(args.jobs or "default"), f"{stock_s:.1f} s",
                        f"{fast_s:.1f} s", f"**{stock_s / fast_s:.1f}×**", "agree" if agree else "DIFFER"],
                       (load_before, os.getloadavg()[0]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
