"""Grade many submissions: one warm fork server per worker, results written as each finishes."""
from __future__ import annotations

import os
import queue
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from .intake import Submission
from .run import PRELOAD, Plan, grade_submission
from .sandbox import ForkServer
from .scoring import SubmissionResult


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def grade_many(plan: Plan, submissions: Iterable[Submission], jobs: int = 1,
               on_result: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """Grade in parallel; `on_result` is called (in a worker thread) as soon as each is done."""
    submissions = list(submissions)
    jobs = max(1, min(jobs, len(submissions) or 1))
    threads = max(1, default_jobs() // jobs)
    servers: queue.Queue[ForkServer] = queue.Queue()
    started = [ForkServer(PRELOAD) for _ in range(jobs)]
    scratch = Path(tempfile.mkdtemp(prefix="torchgrade-scratch-"))
    for server in started:
        servers.put(server)

    def work(submission: Submission) -> SubmissionResult:
        server = servers.get()
        try:
            result = grade_submission(plan, submission, server, scratch, threads=threads)
        finally:
            servers.put(server)
        if on_result is not None:
            on_result(result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(work, submissions))
    finally:
        for server in started:
            server.close()
        shutil.rmtree(scratch, ignore_errors=True)
