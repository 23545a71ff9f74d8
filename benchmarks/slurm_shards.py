"""A generated class graded in shards on Slurm against the same class on one machine.

    python benchmarks/slurm_shards.py [--count 200] [--shards 4] [--jobs 2] [--cpus-per-task 1]

Needs a Slurm cluster (`bash .ci/slurm-up` starts a single-node one as root) and torchgrade on PATH
(this Python's). In a scratch course folder (course.yaml, exercises/, solutions/, examples/slurm/) it
generates `--count` submissions (benchmarks/make_submissions.py: correct, partly wrong, starter,
hostile), builds the plan once (both sides then find it cached), then times:
  * one machine: `torchgrade grade submissions/*/ --out one-machine --jobs J`;
  * Slurm: the commands of docs/teachers/clusters.md, from the first sbatch until the dependent merge
    job has finished (array of `--shards` tasks of `--cpus-per-task` CPUs each, then merge.sbatch).
It checks that both gradebooks are equal, and prints the machine, the date, the commit, the load
average around each run and the wall times.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
            "BOOT_FAIL", "DEADLINE"}


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def states(job: str, env: dict[str, str]) -> dict[str, str]:
    shown = subprocess.run(["squeue", "-h", "--states=all", "-j", job, "-o", "%i %T"], env=env,
                           capture_output=True, text=True, check=True)
    return dict(line.split() for line in shown.stdout.splitlines() if line.strip())


def wait_for(job: str, env: dict[str, str]) -> dict[str, str]:
    while True:
        now = states(job, env)
        if now and all(state in FINISHED for state in now.values()):
            return now
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2, help="workers of the one-machine grading")
    parser.add_argument("--cpus-per-task", type=int, default=1, help="CPUs (= workers) of each shard")
    parser.add_argument("--mem", default="3G", help="memory of each shard")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SHARD_"))}
    if "SLURM_CONF" in os.environ:
        env["SLURM_CONF"] = os.environ["SLURM_CONF"]
    elif Path("/tmp/torchgrade-slurm/slurm.conf").is_file():
        env["SLURM_CONF"] = "/tmp/torchgrade-slurm/slurm.conf"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %c CPUs %m MiB %T"], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}")
    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, commit {commit}")
    print(f"slurm nodes: {nodes}")

    with tempfile.TemporaryDirectory(prefix="torchgrade-slurm-bench-") as scratch:
        root = Path(scratch)
        env["TORCHGRADE_CACHE_DIR"] = str(root / "cache")
        shutil.copy2(REPO / "course.yaml", root / "course.yaml")
        for folder in ("exercises", "solutions", "examples/slurm"):
            shutil.copytree(REPO / folder, root / folder)
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_submissions.py"), str(root / "submissions"),
                        "--count", str(args.count)], check=True, capture_output=True)
        (root / "submissions" / "manifest.json").unlink(missing_ok=True)
        folders = sorted(str(p) + "/" for p in (root / "submissions").iterdir() if p.is_dir())
        subprocess.run(["torchgrade", "grade", folders[0], "--out", "warm", "--no-progress"], cwd=root, env=env,
                       check=True, capture_output=True)     # builds the plan that both runs then find cached

        print(f"class: {len(folders)} submissions; load average before: {load()}")
        started = time.monotonic()
        subprocess.run(["torchgrade", "grade", *folders, "--out", "one-machine", "--jobs", str(args.jobs),
                        "--no-progress"], cwd=root, env=env, check=True, capture_output=True)
        one = time.monotonic() - started
        print(f"one machine, --jobs {args.jobs}: {one:.0f} s; load average after: {load()}")

        submit = (f"mkdir -p logs\nexport SUBMISSIONS=submissions OUT=graded SHARD_COUNT={args.shards}\n"
                  f"array=$(sbatch --parsable --array=1-$SHARD_COUNT --cpus-per-task={args.cpus_per_task} "
                  f"--mem={args.mem} examples/slurm/grade.sbatch)\n"
                  f"merge=$(sbatch --parsable --dependency=afterok:$array examples/slurm/merge.sbatch)\n"
                  f'echo "$array $merge"\n')
        started = time.monotonic()
        array, merge = subprocess.run(["bash", "-euo", "pipefail", "-c", submit], cwd=root, env=env, check=True,
                                      capture_output=True, text=True).stdout.split()
        shard_states = wait_for(array, env)
        merge_state = wait_for(merge, env)
        sharded = time.monotonic() - started
        print(f"slurm, {args.shards} shards × {args.cpus_per_task} CPU + merge: {sharded:.0f} s "
              f"(shards {sorted(set(shard_states.values()))}, merge {merge_state[merge]}); "
              f"load average after: {load()}")
        if merge_state[merge] != "COMPLETED":
            sys.exit(f"the merge job ended {merge_state[merge]}; see {root}/logs (kept until this exits)")
        same = (root / "graded" / "class" / "gradebook.csv").read_text() == \
            (root / "one-machine" / "gradebook.csv").read_text()
        print(f"gradebooks equal: {same}; slurm / one machine: {sharded / one:.2f}")


if __name__ == "__main__":
    main()
