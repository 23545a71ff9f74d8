"""What the questions and experiments cost per submission: CPU in the child, CPU in the grader, wall end to end.

    python benchmarks/experiment_cost.py [--repeat 5]

CPU time (time.process_time, one torch thread, as in the sandbox's child) of:
- one gradient_norms call of the reference per configuration the course uses;
- the child's work for a whole exercise (every call of every check: reruns and plot runs included),
  running the child's own code on the reference module in this process, without the sandbox;
- the grader's judging of those results (property rules, and the PNG for gradient_norms);
- building the plan of the question and experiment exercises (once per class, not per submission).
Then the wall time of real sandboxed gradings (warm fork server), which other load on the machine
inflates; the CPU figures do not depend on it.
"""
from __future__ import annotations

import argparse
import importlib.util
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
from grader import kinds  # noqa: E402
from grader.child import run_exercise  # noqa: E402
from grader.entry import PRELOAD  # noqa: E402
from grader.grading import plan_for  # noqa: E402
from grader.run import grade_submission  # noqa: E402
from grader.sandbox import ForkServer  # noqa: E402
from grader.spec import load_course  # noqa: E402

CONFIGS = [dict(activation="sigmoid", depth=10), dict(activation="sigmoid", depth=10, init="xavier"),
           dict(activation="tanh", depth=10, init="xavier"), dict(activation="relu", depth=10),
           dict(activation="relu", depth=10, init="kaiming")]


def cpu(fn, repeat: int) -> float:
    """Median CPU seconds of fn() over `repeat` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def load(folder: Path, module: str):
    spec = importlib.util.spec_from_file_location(f"bench_{module}", folder / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    sys.modules[module] = loaded
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    torch.set_num_threads(1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}, "
          f"torch {torch.__version__}, load average {os.getloadavg()[0]:.1f}")
    course = load_course(REPO / "course.yaml")
    ids = [e.id for e in course.exercises if e.module in ("answers", "experiments")]
    start = time.process_time()
    plan = plan_for(course, hidden=True, exercises=ids, cuda=False, cache=False)
    print(f"plan for {len(ids)} question and experiment exercises: {time.process_time() - start:.2f} s CPU (once per class)")

    experiments = load(REPO / "solutions", "experiments")
    for config in CONFIGS:
        seconds = cpu(lambda: experiments.gradient_norms(**config), repeat)
        print(f"gradient_norms({', '.join(f'{k}={v!r}' for k, v in config.items())}): {seconds * 1e3:.1f} ms CPU")

    load(REPO / "solutions", "answers")
    tasks = wire.load(plan.tasks_file, from_the_grader=True)
    for exercise_id in ("gradient_norms", "dead_relu_fraction", "binary_loss"):
        task = tasks[exercise_id]
        module = sys.modules[task["module"]]
        record = run_exercise(task, module, str(REPO / "solutions"))
        child = cpu(lambda: run_exercise(task, module, str(REPO / "solutions")), repeat)

        def judge() -> None:
            for prepared in plan.prepared[exercise_id]:
                for case, call in zip(prepared.cases, prepared.calls):
                    kinds.judge(prepared.check.kind).judge_case(prepared, case, record["results"][call["key"]])

        grader = cpu(judge, repeat)
        calls = len(task["calls"])
        print(f"{exercise_id}: {calls} calls; child {child * 1e3:.0f} ms CPU, grader {grader * 1e3:.0f} ms CPU")

    walls = []
    with ForkServer(PRELOAD) as server, tempfile.TemporaryDirectory() as scratch:
        for _ in range(repeat + 1):
            start = time.perf_counter()
            result = grade_submission(plan, REPO / "solutions", server, Path(scratch))
            walls.append(time.perf_counter() - start)
    assert result.score == result.max_score, "the solutions must score full marks"
    print(f"sandboxed grading of all {len(ids)} exercises (solutions, {result.score:g}/{result.max_score:g}): "
          f"median {statistics.median(walls[1:]):.2f} s wall (first {walls[0]:.2f} s)")


if __name__ == "__main__":
    main()
