"""The student side, measured side by side in one run: pytest in the bundle and `torchgrade check`
against the import floor, then releasing the bundle and reading a notebook.

    python benchmarks/student_bundle.py [--repeat 5] [--loop-only]

* the student's loop, interleaved `--repeat` times on the course's bundle with the example solution
  filled in (every public check passes): the floor `python -c "import torch, matplotlib.pyplot"`;
  `pytest` warm (its plan cached by an earlier run); `pytest` on the very first run after unpacking (a
  fresh copy of the bundle, so the plan is built and cached); `torchgrade check` warm. Medians, and
  each median's seconds above the floor's, against the targets;
* `torchgrade release --out DIR` of the course, once, wall time; the bundle's files and bytes;
* unless --loop-only: `pytest` on the starters (every public check fails), and
  `grader.notebook.notebook_modules` on a notebook of examples/alice's modules against `import nbformat`.
Prints machine, date, commit and load first; CPU seconds of every process next to wall times (the
machine may be shared: wall times then say more about the neighbours than about the code).
Plans go to a cache folder of the benchmark's own. Writes benchmarks/results/student_bundle.json.
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
sys.path.insert(0, str(REPO))

#: Seconds above the floor the student's loop may take (medians).
TARGETS = {"pytest_warm": 1.5, "pytest_first_run": 3.0, "check_warm": 1.0}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall s, CPU s of the command and its children, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), code


def summary(samples: list[tuple[float, float, int]]) -> dict:
    return {"wall_s": round(statistics.median(s[0] for s in samples), 2),
            "cpu_s": round(statistics.median(s[1] for s in samples), 2),
            "walls": [round(s[0], 2) for s in samples], "exit_codes": sorted({s[2] for s in samples})}


def median_run(cmd: list[str], cwd: Path, repeat: int, env: dict[str, str] | None = None) -> dict:
    return summary([run(cmd, cwd, env) for _ in range(repeat)])


def machine() -> dict:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    from benchmarks.performance_page import commit
    import torch
    return {"machine": f"{platform.machine()} {model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                       f"torch {torch.__version__}",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def student_loop(solved: Path, work: Path, repeat: int, env: dict[str, str]) -> dict:
    """floor, pytest warm, check warm, pytest's first run after unpacking: interleaved, `repeat` times each."""
    python, torchgrade = sys.executable, str(Path(sys.executable).parent / "torchgrade")
    pytest_cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    commands = {"floor": ([python, "-c", "import torch, matplotlib.pyplot"], None),
                "pytest_warm": (pytest_cmd, solved), "check_warm": ([torchgrade, "check"], solved),
                "pytest_first_run": (pytest_cmd, "fresh")}
    run(pytest_cmd, solved, env), run([torchgrade, "check"], solved, env)  # cache both plans (not timed)
    samples: dict[str, list] = {name: [] for name in commands}
    for i in range(repeat):
        for name, (cmd, where) in commands.items():
            if where == "fresh":  # unpacked anew: another folder, so no cached plan applies
                where = work / f"unpacked-{i}"
                shutil.copytree(solved, where, ignore=shutil.ignore_patterns("feedback", "__pycache__"))
            samples[name].append(run(cmd, where or REPO, env))
    out = {name: summary(values) for name, values in samples.items()}
    floor = out["floor"]["wall_s"]
    for name, target in TARGETS.items():
        out[name]["above_floor_s"] = round(out[name]["wall_s"] - floor, 2)
        out[name]["target_above_floor_s"] = target
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--loop-only", action="store_true", help="the student's loop and the release only")
    parser.add_argument("--no-page", action="store_true", help="do not append the run to docs/performance.md")
    options = parser.parse_args()
    repeat = options.repeat
    out: dict = machine()
    for key in ("machine", "date", "commit", "load_average_at_start"):
        print(f"{key}: {out[key]}", flush=True)
    from grader.spec import load_course
    course = load_course(REPO / "course.yaml")
    work = Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    env = dict(os.environ, TORCHGRADE_CACHE_DIR=str(work / "cache"))
    env.pop("TORCHGRADE_NO_PLAN_CACHE", None)
    bin_dir = Path(sys.executable).parent
    out.update({"exercises": len(course.exercises), "repeat": repeat})

    bundle = work / "bundle"
    out["release"] = median_run([str(bin_dir / "torchgrade"), "release", "--out", str(bundle)], REPO, 1, env)
    files = [p for p in bundle.rglob("*") if p.is_file()]
    out["bundle"] = {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
                     "expected_bytes": sum(p.stat().st_size for p in files if p.suffix == ".pt")}
    solved = work / "solved"
    shutil.copytree(bundle, solved)
    for module in course.modules:
        shutil.copyfile(REPO / "solutions" / f"{module}.py", solved / f"{module}.py")
    out["loop"] = student_loop(solved, work, repeat, env)
    out["load_average_after_loop"] = [round(x, 2) for x in os.getloadavg()]

    print(f"\nthe student's loop, {course.name}, solutions filled in; medians of {repeat}, interleaved")
    print(f"{'':28}{'wall s':>8}{'above floor':>13}{'target':>9}{'CPU s':>8}   walls")
    for name, row in out["loop"].items():
        above = f"+{row['above_floor_s']:.2f}" if "above_floor_s" in row else ""
        target = f"≤ +{row['target_above_floor_s']:g}" if "target_above_floor_s" in row else ""
        print(f"{name:28}{row['wall_s']:8.2f}{above:>13}{target:>9}{row['cpu_s']:8.2f}   {row['walls']}")
    print(f"load average: {out['load_average_at_start']} at the start, {out['load_average_after_loop']} after the loop")
    if not options.no_page:
        from benchmarks.performance_page import append_run
        rows = out["loop"].items()
        append_run("student_bundle", [f"{name}, above the floor (target)" for name, row in rows if "above_floor_s" in row],
                   [f"**+{row['above_floor_s']:.2f} s** (≤ +{row.get('target_above_floor_s', '?')}"
                    f"{': missed' if row['above_floor_s'] > row.get('target_above_floor_s', float('inf')) else ''})"
                    for _, row in rows if "above_floor_s" in row],
                   (out["load_average_at_start"][0], out["load_average_after_loop"][0]))

    if not options.loop_only:
        pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        out["pytest_starters"] = median_run(pytest_cmd, bundle, repeat, env)
        notebook = work / "alice.ipynb"
        cells = [(REPO / "examples" / "alice" / f"{m}.py").read_text() for m in course.modules
                 if (REPO / "examples" / "alice" / f"{m}.py").is_file()]
        notebook.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": c}
            for c in cells]}))
        from grader.notebook import notebook_modules
        times = []
        for _ in range(max(5, repeat)):
            start = time.perf_counter()
            notebook_modules(notebook, list(course.modules))
            times.append(time.perf_counter() - start)
        out["notebook_modules_ms"] = round(1000 * statistics.median(times), 1)
        out["import_nbformat"] = median_run([sys.executable, "-c", "import nbformat"], REPO, repeat)
        out["python_startup"] = median_run([sys.executable, "-c", "pass"], REPO, repeat)
    shutil.rmtree(work, ignore_errors=True)
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "student_bundle.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "loop"}, indent=2))


if __name__ == "__main__":
    main()
