"""Timings that were once assertions in the tests, measured side by side instead.

- wire: reading a submission-sized record with grader.wire against torch.load(weights_only=True).

    python benchmarks/unit_timings.py [--repeat 200]

Prints one JSON object with the machine, the date, the commit and the load average beside the figures.
"""
from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def wire_read(repeat: int) -> dict:
    import torch

    from grader import wire
    record = {f"case{i}": {"output": {"value": torch.randn(7, dtype=torch.float64)}, "grad": torch.randn(7)}
              for i in range(40)}
    buffer = io.BytesIO()
    torch.save(record, buffer)
    ours, theirs = wire.dumps(record), buffer.getvalue()

    def best_ms(read) -> float:
        times = []
        for _ in range(max(5, repeat // 40)):
            start = time.perf_counter()
            read()
            times.append(time.perf_counter() - start)
        return min(times) * 1e3

    wire_ms = best_ms(lambda: wire.loads(ours))
    torch_ms = best_ms(lambda: torch.load(io.BytesIO(theirs), weights_only=True))
    return {"wire_ms": wire_ms, "torch_weights_only_ms": torch_ms, "ratio": torch_ms / wire_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    report = {
        "machine": {"arch": platform.machine(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "load_before": os.getloadavg()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit.strip(),
        "wire_read": wire_read(args.repeat),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
