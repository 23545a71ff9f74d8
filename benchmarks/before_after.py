"""One commit against another, side by side on this machine: `torchgrade check` and a class's `grade`.

    python benchmarks/before_after.py BEFORE [AFTER] [--rounds 5] [--count 20]

Checks both commits out (git worktrees in a temporary folder, each installed without dependencies
into a virtual environment that sees this interpreter's packages), generates one class of `--count`
submissions (benchmarks/make_submissions.py of AFTER, so both grade the same files), then runs, in
alternating order round by round so that both share the machine's load alike:

  * `torchgrade check` of the reference solutions (the plan cached by a first, unmeasured run);
  * `torchgrade grade` of the class with `--jobs 2 --force`, start-up included.

Prints the median wall and CPU seconds (this process's children: every process involved) of each,
the ratio after/before, and the submissions the two commits score differently (none, where only
speed changed; where verdicts were corrected in between, the tests say which). Writes
benchmarks/results/before_after.json with the machine, the date, both commits and the load.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def checkout(commit: str, root: Path) -> Path:
    """A worktree of `commit` with a virtual environment that has torchgrade installed from it."""
    folder = root / commit
    git("worktree", "add", "--detach", str(folder), commit)
    venv = folder / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    here = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "torch").is_dir())
    (site / "base.pth").write_text(f"{here}\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "-e", str(folder)], check=True)
    return folder


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and everything it started, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, cpu, done.stdout


def scores(out: Path) -> dict[str, float]:
    return {p.parent.name: json.loads(p.read_text())["score"] for p in sorted(out.glob("*/results.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="torchgrade-before-after-"))
    commits = {"before": git("rev-parse", "--short", args.before), "after": git("rev-parse", "--short", args.after)}
    loads = [os.getloadavg()]
    try:
        trees = {name: checkout(commit, root) for name, commit in commits.items()}
        submissions = root / "class"
        subprocess.run([sys.executable, str(trees["after"] / "benchmarks" / "make_submissions.py"), str(submissions),
                        "--count", str(args.count)], check=True, cwd=trees["after"], capture_output=True)
        folders = sorted(str(p) for p in submissions.iterdir() if p.is_dir())
        figures: dict[str, dict[str, list[float]]] = {n: {"check_wall": [], "check_cpu": [], "grade_wall": [],
                                                          "grade_cpu": []} for n in trees}
        graded: dict[str, dict[str, float]] = {}
        for name, tree in trees.items():  # the plans built and cached, apart from the measurements
            timed([str(tree / ".venv" / "bin" / "torchgrade"), "check", "solutions"], tree)
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                tree = trees[name]
                wall, cpu, _ = timed([str(tree / ".venv" / "bin" / "torchgrade"), "check", "solutions"], tree)
                figures[name]["check_wall"].append(wall)
                figures[name]["check_cpu"].append(cpu)
                out = root / f"out-{name}"
                wall, cpu, _ = timed([str(tree / ".venv" / "bin" / "torchgrade"), "grade", *folders, "--out", str(out),
                                      "--jobs", "2", "--force"], tree)
                figures[name]["grade_wall"].append(wall)
                figures[name]["grade_cpu"].append(cpu)
                graded[name] = scores(out)
                if not graded[name]:
                    raise SystemExit(f"{commits[name]} graded nothing: `torchgrade grade` failed there")
            loads.append(os.getloadavg())
        medians = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
        report = {
            "machine": {"arch": platform.machine(), "cores": len(os.sched_getaffinity(0)),
                        "python": platform.python_version()},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commits": commits, "rounds": args.rounds, "submissions": len(folders),
            "load_average_1min": [round(load[0], 2) for load in loads],
            "medians_s": medians,
            "after_over_before": {k: medians["after"][k] / medians["before"][k] for k in medians["after"]},
            "scored_differently": {name: [graded["before"].get(name), score] for name, score in graded["after"].items()
                                   if graded["before"].get(name) != score},
        }
        print(json.dumps(report, indent=2))
        results = REPO / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        (results / "before_after.json").write_text(json.dumps(report, indent=2) + "\n")
    finally:
        for tree in root.glob("*"):
            if (tree / ".git").exists():
                git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
