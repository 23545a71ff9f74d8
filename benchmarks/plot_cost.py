"""What the plot exercises cost per submission: CPU in the child, CPU in the grader, wall end to end.

    python benchmarks/plot_cost.py [--repeat 5]

Per submission the child calls plot_activation 4 times and plot_softmax 3 times (each call is
shared by the checks that judge it) and describes each figure; the grader loads that data,
judges it, and for each failed case draws two pictures. Child and grader work are measured as
CPU time (time.process_time) in this process, on the submission's own module without the
sandbox, so other processes on the machine count less; the probe's own work per call (describing
the figure, reading the PNG) is timed on its own. Then one real
sandboxed grading per submission gives the wall time, fork and IPC included.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
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
from grader.kinds.plot import judge as plot_check  # noqa: E402
from grader.child import run_exercise  # noqa: E402
from grader.kinds.plot import probe as plot_probe  # noqa: E402
from grader.entry import PRELOAD  # noqa: E402
from grader.grading import plan_for  # noqa: E402
from grader.judge import judge_exercise  # noqa: E402
from grader.run import grade_submission  # noqa: E402
from grader.sandbox import ForkServer  # noqa: E402
from grader.spec import load_course  # noqa: E402

SUBMISSIONS = {"solutions": REPO / "solutions", "alice": REPO / "examples/alice", "bob": REPO / "examples/bob"}
EXERCISES = ["plot_activation", "plot_softmax"]


def load_module(folder: Path):
    """The submission's plots.py, imported on matplotlib's defaults (as in a fresh child)."""
    import matplotlib
    matplotlib.rcdefaults()
    spec = importlib.util.spec_from_file_location(f"plots_{folder.name}", folder / "plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def student_calls_only(tasks, module) -> float:
    """CPU of the student's own calls (one per share key), with nothing of the probe around them."""
    import matplotlib.pyplot as plt
    seen, start = set(), time.process_time()
    folder = tempfile.mkdtemp()
    for exercise in EXERCISES:
        fn = getattr(module, exercise)
        for call in tasks[exercise]["calls"]:
            if call["options"]["share"] not in seen:
                seen.add(call["options"]["share"])
                path = os.path.join(folder, call["options"]["filename"])
                plot_probe._quietly(lambda: fn(*call["args"], path))  # as the probe silences fonts
                plt.close("all")
    return time.process_time() - start


def probe_work(module, repeat: int) -> float:
    """CPU seconds per call of the probe's own work: describing the figure and reading the PNG."""
    import matplotlib.pyplot as plt
    from grader.kinds.plot.probe.figure import describe_figure
    path = os.path.join(tempfile.mkdtemp(), "sigmoid.png")
    figure = module.plot_activation("sigmoid", path)
    start = time.process_time()
    for _ in range(repeat):
        describe_figure(figure)
        plot_probe._read_file(path)
    plt.close("all")
    return (time.process_time() - start) / repeat


def one_submission(plan, tasks, module, folder: Path) -> tuple[float, float]:
    """(child CPU s, grader CPU s): probes + saving, then loading + judging + pictures."""
    plot_probe._SEEN.clear()  # a fresh child has seen nothing
    plot_check._PICTURES.clear()  # nor has the grader drawn this submission's pictures
    start = time.process_time()
    files = {}
    for exercise in plan.exercises:
        record = run_exercise(tasks[exercise.id], module, str(folder))
        files[exercise.id] = wire.dumps(record)
    child = time.process_time() - start
    start = time.process_time()
    for exercise in plan.exercises:
        record = wire.loads(files[exercise.id])
        judge_exercise(plan, exercise, record, None)
    return child, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in a graded child (Limits.threads) and a one-worker grader
    plot_probe.warm_plots()  # as the fork server does: Agg, font cache
    course = load_course(REPO / "course.yaml")
    work = Path(tempfile.mkdtemp(prefix="plot-cost-"))
    start = time.process_time()
    plan = plan_for(course, hidden=True, exercises=EXERCISES, cuda=False, workdir=work / "plan", cache=False)
    plan_cpu = time.process_time() - start
    tasks = wire.load(plan.tasks_file, from_the_grader=True)
    calls = sum(len(t["calls"]) for t in tasks.values())
    shared = len({c["options"]["share"] for t in tasks.values() for c in t["calls"]})
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, torch {torch.__version__}, "
          f"1 thread; load average {os.getloadavg()[0]:.1f}; {calls} plot cases, {shared} calls per submission")
    print(f"plan (once per course): {plan_cpu:.2f} s CPU")
    print(f"probe's own work (describe the solution's figure, read its PNG): "
          f"{1000 * probe_work(load_module(SUBMISSIONS['solutions']), 20):.1f} ms CPU per call")
    with ForkServer(PRELOAD) as server:
        for name, folder in SUBMISSIONS.items():
            module = load_module(folder)
            one_submission(plan, tasks, module, folder)  # warm caches, as the fork server is
            runs = [one_submission(plan, tasks, module, folder) for _ in range(args.repeat)]
            child = statistics.median(r[0] for r in runs)
            grader = statistics.median(r[1] for r in runs)
            own = statistics.median(student_calls_only(tasks, module) for _ in range(args.repeat))
            walls, child_walls = [], []
            for _ in range(args.repeat):
                plot_check._PICTURES.clear()
                scratch = Path(tempfile.mkdtemp(dir=work))
                t = time.perf_counter()
                result = grade_submission(plan, folder, server, scratch)
                walls.append(time.perf_counter() - t)
                child_walls.append(result.details["wall_s"])
            print(f"{name:10s} child {child:.3f} s CPU (the student's own calls alone: {own:.3f}) + grader {grader:.3f} s CPU = {child + grader:.3f} s CPU per submission "
                  f"(median of {args.repeat}); sandboxed grading {statistics.median(walls):.2f} s wall "
                  f"(its child {statistics.median(child_walls):.2f} s); score {result.score:g}/{result.max_score:g}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
