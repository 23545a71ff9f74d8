"""Where one submission's grading time goes: per exercise and per check kind, child side and grader side.

    python benchmarks/profile_submission.py [SUBMISSION ...] [--course course.yaml] [--repeat 3] [--top 15]

Grades whatever the course contains. CPU time (time.process_time), so other processes on a shared
machine count little: the child's side is the learner's module run through the probes (as
grader.child does, without the sandbox, after the fork server's warm-up) and saved as plain
data; the grader's side is loading that data (weights_only) and judging it. The median of
`--repeat` runs is shown. Then one real sandboxed grading per submission gives the wall time
with fork, confinement and IPC, and `--top` lists the costliest functions (cProfile) of each side.
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import importlib
import io
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

import grader.child as child  # noqa: E402
from grader import wire  # noqa: E402
from grader.kinds import probes  # noqa: E402
from grader.grading import plan_for  # noqa: E402
from grader.judge import judge_exercise  # noqa: E402
from grader.run import grade_submission  # noqa: E402

PROBES = probes()
from grader.sandbox import ForkServer  # noqa: E402
from grader.entry import PRELOAD  # noqa: E402
from grader.spec import load_course  # noqa: E402

CPU = collections.Counter


def forget_child_state() -> None:
    """Per-child memos (the plot probe's shared observations) start empty, as in a fresh fork."""
    for module in list(sys.modules.values()):
        seen = getattr(module, "_SEEN", None) if getattr(module, "__name__", "").startswith(("grader.probes", "grader.kinds")) else None
        if getattr(module, "__name__", "") == "grader.recording":
            module._MAIN_RUNS.clear()
        if isinstance(seen, dict):
            seen.clear()


def import_modules(folder: Path, modules: list[str]) -> dict[str, object]:
    """The learner's modules, imported fresh (as a forked child would)."""
    forget_child_state()
    for name in modules:
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        found = {}
        for name in modules:
            if (folder / f"{name}.py").is_file():
                try:
                    found[name] = importlib.import_module(name)
                except BaseException:
                    pass
        return found
    finally:
        sys.path.remove(str(folder))
        child._close_figures()


def timed_probes(per_probe: CPU) -> dict:
    """PROBES with each probe's CPU time added to `per_probe`."""
    wrapped = {}
    for name, probe in PROBES.items():
        def run(fn, call, probe=probe, name=name):
            start = time.process_time()
            try:
                return probe(fn, call)
            finally:
                per_probe[name] += time.process_time() - start
        wrapped[name] = run
    return wrapped


def one_run(plan, tasks, modules, folder: Path) -> tuple[CPU, CPU, CPU, CPU]:
    """CPU s per exercise in the child, per probe, per exercise in the grader, per check kind in the grader."""
    child_ex, per_probe, grader_ex, per_kind = CPU(), CPU(), CPU(), CPU()
    original = dict(PROBES)
    PROBES.update(timed_probes(per_probe))
    files: dict[str, bytes] = {}
    try:
        for exercise in plan.exercises:
            start = time.process_time()
            module = modules.get(exercise.module)
            record = (child.run_exercise(tasks[exercise.id], module, str(folder)) if module is not None
                      else {"status": "missing_module"})
            files[exercise.id] = wire.dumps(record)
            child_ex[exercise.id] = time.process_time() - start
    finally:
        PROBES.clear()
        PROBES.update(original)
    for exercise in plan.exercises:
        start = time.process_time()
        record = wire.loads(files[exercise.id])
        per_kind["(load results)"] += time.process_time() - start
        result = judge_exercise(plan, exercise, record, None)
        grader_ex[exercise.id] = time.process_time() - start
    for exercise in plan.exercises:  # per check kind: judge each prepared check alone
        record = wire.loads(files[exercise.id])
        for prepared in plan.prepared[exercise.id]:
            start = time.process_time()
            results = record.get("results", {}) if isinstance(record, dict) else {}
            from grader import kinds
            for case, call in zip(prepared.cases, prepared.calls):
                got = results.get(call["key"])
                if isinstance(got, dict):
                    kinds.judge(prepared.check.kind).judge_case(prepared, case, got)
            per_kind[prepared.check.kind] += time.process_time() - start
    return child_ex, per_probe, grader_ex, per_kind


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and of the children it has reaped (/proc/PID/stat: utime … cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def median_counter(runs: list[CPU]) -> CPU:
    keys = {k for run in runs for k in run}
    return CPU({k: statistics.median(run.get(k, 0.0) for run in runs) for k in keys})


def table(title: str, counter: CPU, calls: dict[str, int] | None = None, top: int = 100) -> None:
    total = sum(counter.values())
    print(f"\n{title}: {total:.3f} s CPU")
    for key, value in counter.most_common(top):
        share = 100 * value / total if total else 0.0
        extra = f"  ({calls[key]} calls)" if calls and key in calls else ""
        print(f"  {key:28s} {value:7.3f} s  {share:5.1f}%{extra}")


def profile_top(label: str, fn, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    print(f"\n{label}: the {top} costliest functions (cumulative)")
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(top)
    print("\n".join(line for line in stream.getvalue().splitlines()[6:] if line.strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="*", type=Path, default=[REPO / "solutions", REPO / "examples" / "bob"])
    parser.add_argument("--course", type=Path, default=REPO / "course.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=0, help="also list the costliest functions (cProfile)")
    parser.add_argument("--public-only", action="store_true", help="the public checks only, as `torchgrade check` runs them")
    args = parser.parse_args()

    torch.set_num_threads(1)  # as in a child of one of two workers on two cores
    course = load_course(args.course)
    start, wall = time.process_time(), time.perf_counter()
    plan = plan_for(course, hidden=not args.public_only, cuda=False, workdir=Path(tempfile.mkdtemp(prefix="profile-plan-")), cache=False)
    plan_cpu, plan_wall = time.process_time() - start, time.perf_counter() - wall
    start = time.process_time()
    tasks = wire.load(plan.tasks_file, from_the_grader=True)
    tasks_cpu = time.process_time() - start
    calls = {e.id: len(tasks[e.id]["calls"]) for e in plan.exercises}
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, load average "
          f"{os.getloadavg()[0]:.1f}, torch {torch.__version__}; {len(plan.exercises)} exercises, "
          f"{sum(calls.values())} child calls per submission, tasks file {plan.tasks_file.stat().st_size / 1e6:.1f} MB")
    print(f"plan (once per class): {plan_cpu:.2f} s CPU ({plan_wall:.2f} s wall); "
          f"each child loads the tasks file: {tasks_cpu:.3f} s CPU")
    start = time.process_time()
    child.warm()
    print(f"fork server warm-up (once per worker): {time.process_time() - start:.2f} s CPU")

    for folder in args.submissions:
        folder = folder.resolve()
        runs = []
        for _ in range(args.repeat):
            modules = import_modules(folder, list(course.modules))
            runs.append(one_run(plan, tasks, modules, folder))
        child_ex, per_probe, grader_ex, per_kind = (median_counter([r[i] for r in runs]) for i in range(4))
        print(f"\n=== {folder.name}: child {sum(child_ex.values()):.2f} s CPU + tasks load {tasks_cpu:.2f} + "
              f"grader {sum(grader_ex.values()):.2f} s CPU (median of {args.repeat})")
        by_module = CPU()
        for exercise in plan.exercises:
            by_module[exercise.module] += child_ex[exercise.id] + grader_ex[exercise.id]
        table("child + grader, by module", by_module)
        table("child, by exercise (probes + saving)", child_ex, calls, top=12)
        table("child, by probe", per_probe)
        table("grader, by exercise (load + judge)", grader_ex, top=12)
        table("grader, by check kind", per_kind)
        with ForkServer(PRELOAD) as server:
            walls, child_walls, child_cpus, grader_cpus = [], [], [], []
            server_pid = server._process.pid  # its reaped children's CPU is the sandboxed child's
            for _ in range(args.repeat):
                scratch = Path(tempfile.mkdtemp(prefix="profile-"))
                t, own, tree = time.perf_counter(), time.process_time(), tree_cpu(server_pid)
                result = grade_submission(plan, folder, server, scratch, threads=1)
                walls.append(time.perf_counter() - t)
                grader_cpus.append(time.process_time() - own)
                child_cpus.append(tree_cpu(server_pid) - tree)
                child_walls.append(result.details["wall_s"])
        child_cpu, grader_cpu = statistics.median(child_cpus), statistics.median(grader_cpus)
        print(f"\nsandboxed grading: {statistics.median(walls):.2f} s wall (its child {statistics.median(child_walls):.2f}"
              f" s); CPU: sandboxed child and server {child_cpu:.2f} s + grader {grader_cpu:.2f} s = "
              f"{child_cpu + grader_cpu:.2f} s (in-process above: {sum(child_ex.values()) + tasks_cpu:.2f} + "
              f"{sum(grader_ex.values()):.2f} s); score {result.score:g}/{result.max_score:g}")
        if args.top:
            modules = import_modules(folder, list(course.modules))
            profile_top("child side", lambda: [child.run_exercise(tasks[e.id], modules[e.module], str(folder))
                                              for e in plan.exercises if e.module in modules], args.top)
            records = {e.id: child.run_exercise(tasks[e.id], modules[e.module], str(folder))
                       for e in plan.exercises if e.module in modules}
            profile_top("grader side (judging)", lambda: [judge_exercise(plan, e, records[e.id], None)
                                                          for e in plan.exercises if e.id in records], args.top)


if __name__ == "__main__":
    main()
