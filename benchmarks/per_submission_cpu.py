"""CPU seconds one submission costs each side, graded again and again through one warm fork server.

    python benchmarks/per_submission_cpu.py SUBMISSION [--course course.yaml] [--count 25] [--as-check]

The grader's process (staging, reading and judging the records, its threads included) and the fork
server with its children (fork, confinement, the probes on the learner's code, saving the records) are
measured apart, from `time.process_time()` and `/proc/PID/stat` (the server's own time and its reaped
children's). A job that runs nothing through the same server is measured too: what any job costs
before the learner's code runs. Plans are built once, outside the measurement; so is the server's warm-up.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.entry import PRELOAD  # noqa: E402
from grader.grading import plan_for  # noqa: E402
from grader.run import grade_submission  # noqa: E402
from grader.sandbox import ForkServer, Job  # noqa: E402
from grader.spec import load_course  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """The server's CPU seconds and its reaped children's (utime, stime, cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICK


def measure(server: ForkServer, count: int, one) -> tuple[float, float, float]:
    """Wall, grader CPU and server CPU per call of one(), in ms."""
    one()  # first-call costs of this process stay out of it
    pid = server._process.pid  # type: ignore[union-attr]
    s0, g0, w0 = server_cpu(pid), time.process_time(), time.perf_counter()
    for _ in range(count):
        one()
    s1, g1, w1 = server_cpu(pid), time.process_time(), time.perf_counter()
    return tuple(round(x / count * 1000, 1) for x in (w1 - w0, g1 - g0, s1 - s0))  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", type=Path)
    parser.add_argument("--course", type=Path, default=REPO / "course.yaml")
    parser.add_argument("--count", type=int, default=25)
    parser.add_argument("--as-check", action="store_true",
                        help="draw the feedback pictures of passing checks too, as `torchgrade check` does "
                             "(class grading draws those of failing checks only)")
    args = parser.parse_args()
    plan = plan_for(load_course(args.course), hidden=True, workdir=Path(tempfile.mkdtemp(prefix="torchgrade-plan-")),
                    cache=False)
    scratch = Path(tempfile.mkdtemp(prefix="torchgrade-scratch-"))
    with ForkServer(PRELOAD) as server:
        def empty_job() -> None:
            work = Path(tempfile.mkdtemp(dir=scratch))
            server.run(Job("grader.sandbox.selftest:nothing", {}, workdir=str(work)))

        results: list = []
        bare = measure(server, args.count, empty_job)
        full = measure(server, args.count, lambda: results.append(grade_submission(
            plan, args.submission, server, scratch, pictures_of_passing_work=args.as_check)))
    result = results[-1]
    print(f"machine: {os.uname().machine}, {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}; "
          f"{len(plan.exercises)} exercises; score {result.score:g}/{result.max_score:g}")
    print(f"an empty job:       {bare[0]:7.1f} ms wall, grader {bare[1]:6.1f} ms CPU, server and child {bare[2]:6.1f} ms CPU")
    print(f"one submission:     {full[0]:7.1f} ms wall, grader {full[1]:6.1f} ms CPU, server and child {full[2]:6.1f} ms CPU")


if __name__ == "__main__":
    main()
