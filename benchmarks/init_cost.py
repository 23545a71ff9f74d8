"""What the initialiser exercises cost per submission: CPU in the child, CPU in the grader, wall end to end.

    python benchmarks/init_cost.py [--repeat 5]

The plan (reference samples, built once per course) is left out: it is paid once per class.
Per submission, the child runs every init probe (fills the tensors, samples them, saves plain
data) and the grader loads that data and judges it (sorting, KS, exact comparisons). Both are
measured as CPU time (time.process_time) in this process, running the child's own code on the
submission's module without the sandbox, so other processes on the machine do not count; then
one real sandboxed grading per submission gives the wall time, fork and IPC included.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader import wire  # noqa: E402
from grader.child import run_exercise  # noqa: E402
from grader.entry import PRELOAD  # noqa: E402
from grader.grading import plan_for  # noqa: E402
from grader.judge import judge_exercise  # noqa: E402
from grader.run import grade_submission  # noqa: E402
from grader.sandbox import ForkServer  # noqa: E402
from grader.spec import load_course  # noqa: E402

SUBMISSIONS = {"solutions": REPO / "solutions", "alice": REPO / "examples/alice", "bob": REPO / "examples/bob"}


def load_module(folder: Path):
    spec = importlib.util.spec_from_file_location(f"initializers_{folder.name}", folder / "initializers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_submission(plan, tasks, module, folder: Path) -> tuple[float, float]:
    """(child CPU s, grader CPU s) of one submission: probes + saving, then loading + judging."""
    start = time.process_time()
    files = {}
    for exercise in plan.exercises:
        record = run_exercise(tasks[exercise.id], module, str(folder))
        files[exercise.id] = wire.dumps(record)
    child = time.process_time() - start
    start = time.process_time()
    for exercise in plan.exercises:
        record = wire.loads(files[exercise.id])
        result = judge_exercise(plan, exercise, record, None)
        assert result.max_score > 0
    return child, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a graded child (Limits.threads) and a one-worker grader
    course = load_course(REPO / "course.yaml")
    ids = [e.id for e in course.exercises if e.module == "initializers"]
    work = Path(tempfile.mkdtemp(prefix="init-cost-"))
    start = time.process_time()
    plan = plan_for(course, hidden=True, exercises=ids, cuda=False, workdir=work / "plan", cache=False)
    plan_cpu = time.process_time() - start
    tasks = wire.load(plan.tasks_file, from_the_grader=True)
    calls = sum(len(t["calls"]) for t in tasks.values())
    print(f"machine: {platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, torch {torch.__version__}, "
          f"1 thread; {len(ids)} init exercises, {calls} calls per submission")
    print(f"plan (once per course): {plan_cpu:.2f} s CPU")
    with ForkServer(PRELOAD) as server:
        for name, folder in SUBMISSIONS.items():
            module = load_module(folder)
            one_submission(plan, tasks, module, folder)  # warm caches, as the fork server is
            runs = [one_submission(plan, tasks, module, folder) for _ in range(args.repeat)]
            child = statistics.median(r[0] for r in runs)
            grader = statistics.median(r[1] for r in runs)
            walls, child_walls = [], []
            for _ in range(args.repeat):
                scratch = Path(tempfile.mkdtemp(dir=work))
                t = time.perf_counter()
                result = grade_submission(plan, folder, server, scratch)
                walls.append(time.perf_counter() - t)
                child_walls.append(result.details["wall_s"])
            print(f"{name:10s} child {child:.3f} s CPU + grader {grader:.3f} s CPU = {child + grader:.3f} s CPU "
                  f"per submission (median of {args.repeat}); sandboxed grading {statistics.median(walls):.2f} s wall "
                  f"(its child {statistics.median(child_walls):.2f} s); "
                  f"score {result.score:g}/{result.max_score:g}")


if __name__ == "__main__":
    main()
