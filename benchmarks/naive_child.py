"""The naive design's child, for the benchmark: one fresh Python per submission, no fork server.

    python benchmarks/naive_child.py TASKS_FILE SUBMISSION OUT_DIR THREADS EXERCISE...

Imports torch and the grader's child side, warms up as a fork server does, imports the learner's modules,
runs the same probes as a forked child (grader.child.main) and saves the same plain results, then exits.
No sandbox, no server kept warm: what `python -c "import torch, student; run the checks"` per submission
costs.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from grader import child  # noqa: E402


class NoSteps:
    def start(self, name: str) -> None:
        pass

    def done(self, name: str) -> None:
        pass

    def close(self) -> None:
        pass


if __name__ == "__main__":
    tasks_file, submission, out_dir, threads, *exercises = sys.argv[1:]
    torch.set_num_threads(int(threads))
    # warmed up as a fork server is before its children: the lazy imports the first probes would make anyway,
    # made before the learner's import, so the child's note of the process starts from the same state
    from grader.sandbox.server import warm_up
    warm_up(["grader.child"])
    child.main({"submission_dir": submission, "tasks_file": tasks_file, "out_dir": out_dir,
                "exercises": exercises}, NoSteps())
