"""Class grading, measured side by side in one run: the fork server against one fresh Python per submission.

    python benchmarks/class_grading.py [--count 200] [--jobs 2] [--naive-sample 20] [--repeat 3]

Grades whatever the course contains, twice over: the full course, and the activations and
losses exercises alone (where interpreter start-up dominates). For each:
  * fork server: `torchgrade grade SUBMISSIONS --jobs J --force` on `--count` generated submissions
    (benchmarks/make_submissions.py: correct, partly wrong, starter, hostile), start-up included,
    amortised per submission;
  * naive: one fresh `python` per submission (benchmarks/naive_child.py: import torch, the
    learner's modules, run the same probes) with J at a time, the same judging in this process,
    on an evenly spaced sample of the non-hostile submissions (a hang or an os._exit would cost
    the naive design far more; leaving them out favours it); its results must equal the fork
    server's for the same submissions;
  * fork server on the non-hostile submissions alone (start-up included, amortised over them): the
    like-for-like comparison with the naive sample, which is drawn from exactly these.
Then `torchgrade check` of one correct submission against `python -c "import torch, matplotlib.pyplot"`
(the first check, which builds and caches the plan, apart; `--check-only` for this part alone).
Wall times, and CPU seconds of every process involved (this one and all its children), since a
shared machine makes wall times noisy. Writes benchmarks/results/class_grading.json.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import yaml  # noqa: E402

from benchmarks.make_submissions import generate  # noqa: E402
from benchmarks.performance_page import append_run, commit  # noqa: E402
from grader import wire  # noqa: E402
from grader.resume import course_files  # noqa: E402
from grader.grading import plan_for  # noqa: E402
from grader.judge import judge_exercise  # noqa: E402
from grader.scoring import SubmissionResult  # noqa: E402
from grader.spec import load_course  # noqa: E402

PYTHON = sys.executable
SUBSET = ("activations", "losses")
#: The non-hostile kinds of generated submission: the naive sample is drawn from these only.
CALM = ("correct", "partly wrong", "starter")


def cpu_now() -> float:
    """CPU seconds of this process and of every child it has waited for (and theirs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Meter:
    def __enter__(self) -> "Meter":
        self.wall, self.cpu = time.perf_counter(), cpu_now()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_now() - self.cpu


def subset_course(course_file: Path, modules: tuple[str, ...], target: Path) -> Path:
    """A copy of the course with only the exercises of `modules` (every file they depend on copied)."""
    course = load_course(course_file)
    root = course.root.resolve()
    if target.exists():
        shutil.rmtree(target)
    for path in course_files(course):
        if root in path.parents:
            destination = target / path.relative_to(root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    data = yaml.safe_load(course_file.read_text())
    data["exercises"] = [str(course.exercise_files[e.id].resolve().relative_to(root))
                         for e in course.exercises if e.module in modules]
    (target / "course.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return target / "course.yaml"


def fork_server_run(course_file: Path, folders: list[Path], out: Path, jobs: int) -> dict:
    command = [PYTHON, "-m", "grader", "grade", *map(str, folders), "--out", str(out), "--jobs", str(jobs),
               "--force", "--no-progress", "--course", str(course_file)]
    with Meter() as meter:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"torchgrade grade failed:\n{done.stderr[-3000:]}")
    return {"wall_s": meter.wall, "cpu_s": meter.cpu, "n": len(folders)}


def naive_one(plan, folder: Path, threads: int) -> SubmissionResult:
    work = Path(tempfile.mkdtemp(prefix="naive-"))
    tmp = work / "tmp"
    tmp.mkdir()
    try:
        ids = [e.id for e in plan.exercises]
        limit = plan.limits().total_s
        subprocess.run([PYTHON, str(REPO / "benchmarks" / "naive_child.py"), str(plan.tasks_file), str(folder),
                        str(work / "out"), str(threads), *ids], cwd=work, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=limit,
                       env=dict(os.environ, TMPDIR=str(tmp)))  # its own temporary folder, as a sandboxed child has
        results = []
        for exercise in plan.exercises:
            file = work / "out" / f"{exercise.id}{wire.SUFFIX}"
            record = wire.load(file) if file.is_file() else None
            failure = None if record is not None else ("error", "Your code stopped the grading before this exercise ran.")
            results.append(judge_exercise(plan, exercise, record, failure, pictures_of_passing_work=False))
        return SubmissionResult(folder.name, tuple(results))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def naive_run(course_file: Path, folders: list[Path], jobs: int) -> tuple[dict, list[SubmissionResult]]:
    threads = max(1, len(os.sched_getaffinity(0)) // jobs)
    with tempfile.TemporaryDirectory(prefix="torchgrade-plan-") as workdir:
        plan = plan_for(load_course(course_file), hidden=True, cuda=False,  # once: the naive design gets it free
                        workdir=Path(workdir), cache=False)
        with Meter() as meter, ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(lambda f: naive_one(plan, f, threads), folders))
    return {"wall_s": meter.wall, "cpu_s": meter.cpu, "n": len(folders)}, results


def differing(results: list[SubmissionResult], out: Path) -> list[str]:
    """The checks whose naive result differs from the fork server's results.json (expected: none)."""
    found = []
    for result in results:
        fork = json.loads((out / result.submission / "results.json").read_text())
        for mine, theirs in zip(result.to_json()["exercises"], fork["exercises"]):
            for a, b in zip(mine["checks"], theirs["checks"]):
                if a != b:
                    found.append(f"{result.submission} {mine['id']}::{a['name']}: naive {a['status']} "
                                 f"({a['feedback'][:80]!r}), fork server {b['status']} ({b['feedback'][:80]!r})")
    return found


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def stopped_calm(out: Path, manifest: dict[str, str]) -> dict[str, list[str]]:
    """Non-hostile submissions that a limit stopped anyway (a loaded machine makes wall-clock limits bite)."""
    found = {}
    for sidecar in sorted(out.glob("*/.grading.json")):
        name = sidecar.parent.name
        stops = json.loads(sidecar.read_text())["details"].get("stopped") or []
        if stops and manifest.get(name) not in ("hang", "exit", "print"):
            found[name] = [f"{s['step']}: {s['reason']}" for s in stops]
    return found


def per(run: dict, key: str = "wall_s") -> float:
    return run[key] / run["n"]


def compare(label: str, course_file: Path, folders: list[Path], sample: list[Path], out: Path, jobs: int,
            manifest: dict[str, str], calm_run: bool = True) -> dict:
    exercises = len(load_course(course_file).exercises)
    print(f"\n{label}: {exercises} exercises", flush=True)
    fork = fork_server_run(course_file, folders, out / "fork", jobs)
    print(f"  fork server, {fork['n']} submissions: {fork['wall_s']:.1f} s wall, {fork['cpu_s']:.1f} s CPU → "
          f"{per(fork):.2f} s/submission wall, {per(fork, 'cpu_s'):.2f} CPU s/submission", flush=True)
    stopped = stopped_calm(out / "fork", manifest)
    print(f"  non-hostile submissions stopped by a limit (should be none): {len(stopped)}"
          + "".join(f"\n    {name}: {', '.join(what)}" for name, what in list(stopped.items())[:10]), flush=True)
    calm = [f for f in folders if manifest[f.name] in CALM]
    fork_calm = fork_server_run(course_file, calm, out / "fork-calm", jobs) if calm_run else fork
    if calm_run:
        print(f"  fork server, the {len(calm)} non-hostile submissions alone (what the naive sample is drawn from): "
              f"{per(fork_calm):.2f} s/submission wall, {per(fork_calm, 'cpu_s'):.2f} CPU s/submission", flush=True)
    naive, results = naive_run(course_file, sample, jobs)
    differ = differing(results, out / "fork")
    print(f"  naive, {naive['n']} submissions: {naive['wall_s']:.1f} s wall, {naive['cpu_s']:.1f} s CPU → "
          f"{per(naive):.2f} s/submission wall, {per(naive, 'cpu_s'):.2f} CPU s/submission; "
          f"checks graded differently from the fork server: {len(differ)}", flush=True)
    for line in differ:
        print(f"    {line}")
    ratio = {"wall": per(naive) / per(fork), "cpu": per(naive, "cpu_s") / per(fork, "cpu_s"),
             "wall_like_for_like": per(naive) / per(fork_calm), "cpu_like_for_like": per(naive, "cpu_s") / per(fork_calm, "cpu_s")}
    like = (f"non-hostile vs non-hostile (like for like): {ratio['wall_like_for_like']:.1f}× wall, "
            f"{ratio['cpu_like_for_like']:.1f}× CPU; " if calm_run else "")
    print(f"  fork server faster per submission, {like}all {fork['n']} (hostile ones included, which the naive "
          f"run leaves out) vs the naive sample: {ratio['wall']:.1f}× wall, {ratio['cpu']:.1f}× CPU", flush=True)
    if not calm_run:
        ratio.pop("wall_like_for_like"), ratio.pop("cpu_like_for_like")
    return {"exercises": exercises, "fork": fork, "fork_calm": fork_calm if calm_run else None, "naive": naive,
            "naive_results_differing": differ, "ratio": ratio, "calm_but_stopped": stopped}


def time_check(submission: Path, course_file: Path, repeat: int) -> dict:
    """`torchgrade check` of one correct submission against the import floor, interleaved, medians compared.

    The plans go to a fresh cache folder: the first check builds and caches the plan (as a student's
    first check after installing, or after the course or the grader changed) and is reported apart; the
    `repeat` runs after it find the plan cached, as every later check does."""
    floor_cmd = [PYTHON, "-c", "import torch, matplotlib.pyplot"]
    check_cmd = [PYTHON, "-m", "grader", "check", str(submission), "--course", str(course_file)]
    with tempfile.TemporaryDirectory(prefix="torchgrade-bench-cache-") as cache:
        env = dict(os.environ, TORCHGRADE_CACHE_DIR=cache)
        first = timed(check_cmd, env)
        floors, checks = [], []
        for _ in range(repeat):  # interleaved, so both see the same machine
            floors.append(timed(floor_cmd, env))
            checks.append(timed(check_cmd, env))
    floor, check = statistics.median(floors), statistics.median(checks)
    print(f"\ntorchgrade check of one full submission: {check:.2f} s; python -c 'import torch, matplotlib.pyplot': "
          f"{floor:.2f} s; above the floor: {check - floor:.2f} s (medians of {repeat}; the first check, which "
          f"builds the plan, took {first:.2f} s)")
    return {"first_check_s": first, "check_s": checks, "floor_s": floors, "above_floor_s": check - floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--naive-sample", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs of `check` and of the import floor")
    parser.add_argument("--course", type=Path, default=REPO / "course.yaml")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--skip-subset", action="store_true", help="only the full course")
    parser.add_argument("--skip-calm", action="store_true",
                        help="no second fork-server run on the non-hostile submissions alone (no like-for-like ratio)")
    parser.add_argument("--check-only", action="store_true", help="only `torchgrade check` against the import floor")
    parser.add_argument("--no-page", action="store_true", help="do not append the run to docs/performance.md")
    args = parser.parse_args()

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit()}")
    print(f"machine: {platform.machine()}, {cores} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, torch {torch.__version__}, CUDA {torch.cuda.is_available()}; "
          f"load average {load_before:.1f} before", flush=True)
    manifest = generate(out / "submissions", args.count)
    folders = [out / "submissions" / name for name in manifest]
    calm = [f for f in folders if manifest[f.name] in CALM]
    stride = max(1, len(calm) // args.naive_sample)
    sample = calm[::stride][:args.naive_sample]
    mix = {p: list(manifest.values()).count(p) for p in sorted(set(manifest.values()))}
    print(f"{len(folders)} generated submissions: {mix}; naive sample: {len(sample)} (every {stride}th non-hostile)")

    report: dict = {"date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "commit": commit(),
                    "machine": {"arch": platform.machine(), "cores": cores, "torch": torch.__version__,
                                "python": platform.python_version(), "load_before": load_before},
                    "count": len(folders), "jobs": args.jobs, "mix": mix}
    if not args.check_only:
        report["full"] = compare("full course", args.course.resolve(), folders, sample, out / "full", args.jobs,
                                 manifest, calm_run=not args.skip_calm)
    if not args.skip_subset and not args.check_only:
        subset = subset_course(args.course.resolve(), SUBSET, out / "course-activations-losses")
        report["activations_losses"] = compare("activations and losses alone", subset, folders, sample,
                                               out / "activations-losses", args.jobs, manifest)

    correct = next(f for f in folders if manifest[f.name] == "correct")
    report["check"] = time_check(correct, args.course.resolve(), args.repeat)
    report["machine"]["load_after"] = os.getloadavg()[0]

    print("\ntargets:")
    if "full" in report:
        full = report["full"]
        print(f"  full course, --jobs {args.jobs}: {per(full['fork']):.2f} s/submission amortised (target ≤ 0.5)")
        like = (f"{full['ratio']['wall_like_for_like']:.1f}× like for like, " if "wall_like_for_like" in full["ratio"]
                else "")
        print(f"  fork server vs naive, full course: {like}{full['ratio']['wall']:.1f}× with the hostile ones on the "
              f"fork server's side only (target ≥ 5)")
    if "activations_losses" in report:
        subset = report["activations_losses"]["ratio"]
        print(f"  fork server vs naive, activations+losses: {subset['wall_like_for_like']:.1f}× like for like, "
              f"{subset['wall']:.1f}× with the hostile ones on the fork server's side only (target ≥ 10)")
    print(f"  check above the import floor: {report['check']['above_floor_s']:.2f} s (target ≤ 2)")
    print(f"load average {load_before:.1f} before, {report['machine']['load_after']:.1f} after "
          f"(on a shared machine wall times are noisy; CPU seconds much less so)")
    (out / "class_grading.json").write_text(json.dumps(report, indent=2) + "\n")
    if not args.no_page:
        append_run("class_grading", *page_row(report), (load_before, report["machine"]["load_after"]))


def page_row(report: dict) -> tuple[list[str], list[str]]:
    """The run's figures for the performance page: columns and cells."""
    columns, cells = ["submissions, --jobs"], [f"{report['count']}, {report['jobs']}"]
    if "full" in report:
        full = report["full"]
        columns += ["full course, s a submission (target ≤ 0.5)", "naive / fork server (target ≥ 5×)",
                    "naive results differing"]
        like = f", {full['ratio']['wall_like_for_like']:.1f}× like for like" if "wall_like_for_like" in full["ratio"] \
            else ""
        cells += [f"**{per(full['fork']):.2f}** ({per(full['fork'], 'cpu_s'):.2f} CPU s)",
                  f"**{full['ratio']['wall']:.1f}×** wall, {full['ratio']['cpu']:.1f}× CPU{like}",
                  str(len(full["naive_results_differing"]))]
    columns.append("check above the import floor")
    cells.append(f"+{report['check']['above_floor_s']:.2f} s")
    return columns, cells


if __name__ == "__main__":
    main()
