"""The student side, measured: releasing the bundle, pytest in it, and reading a notebook.

    python benchmarks/student_bundle.py [--repeat 3]

* `torchgrade release --out DIR` of the course (the teacher's public plan, the bundle written,
  the bundle planned again and compared), wall time; the bundle's files and bytes;
* `pytest` in the bundle on the starters (every public check fails) and with the example
  solution filled in (every one passes), against `torchgrade check` of the same solution, wall time;
* `grader.notebook.notebook_modules` on a notebook of examples/alice's modules, against
  `import nbformat` (why notebooks are read as JSON).
Wall times (median of --repeat) and the CPU seconds of every process; the machine is shared, so
wall times are noisy. Writes benchmarks/results/student_bundle.json.
"""
from __future__ import annotations

import argparse
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


def run(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of the command and its children, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), code


def median_run(cmd: list[str], cwd: Path, repeat: int, prepare=None) -> dict:
    walls, cpus, codes = [], [], set()
    for _ in range(repeat):
        if prepare:
            prepare()
        wall, cpu, code = run(cmd, cwd)
        walls.append(wall), cpus.append(cpu), codes.add(code)
    return {"wall_s": round(statistics.median(walls), 2), "cpu_s": round(statistics.median(cpus), 2),
            "exit_codes": sorted(codes)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    from grader.spec import load_course
    course = load_course(REPO / "course.yaml")
    work = Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    bin_dir = Path(sys.executable).parent
    out: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
                 "load_average_at_start": os.getloadavg(), "exercises": len(course.exercises), "repeat": repeat}

    bundle = work / "bundle"
    out["release"] = median_run([str(bin_dir / "torchgrade"), "release", "--out", str(bundle)], REPO, repeat,
                                prepare=lambda: shutil.rmtree(bundle, ignore_errors=True))
    files = [p for p in bundle.rglob("*") if p.is_file()]
    out["bundle"] = {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
                     "expected_bytes": sum(p.stat().st_size for p in files if p.suffix == ".pt")}

    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    out["pytest_starters"] = median_run(pytest_cmd, bundle, repeat)
    solved = work / "solved"
    shutil.copytree(bundle, solved)
    for module in course.modules:
        shutil.copyfile(REPO / "solutions" / f"{module}.py", solved / f"{module}.py")
    out["pytest_solution"] = median_run(pytest_cmd, solved, repeat)
    out["check_solution"] = median_run([str(bin_dir / "torchgrade"), "check"], solved, repeat)

    notebook = work / "alice.ipynb"
    cells = [(REPO / "examples" / "alice" / f"{m}.py").read_text() for m in course.modules
             if (REPO / "examples" / "alice" / f"{m}.py").is_file()]
    notebook.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": c} for c in cells]}))
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

    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "student_bundle.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
