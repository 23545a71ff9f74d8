"""Timings that were once assertions in the tests, measured side by side instead.

- meta kernels: µs per call of seven common operators on the meta device, with torch's Python meta
  kernels and with the compiled ones grader.probes.meta_kernels switches on (each in a fresh interpreter,
  since the switch is for good);
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
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

META = """
import json, sys, time, torch
from grader.probes.meta_kernels import use_compiled_meta_kernels
compiled = use_compiled_meta_kernels() if sys.argv[1] == "compiled" else 0
repeat = int(sys.argv[2])
x = torch.ones(64, device="meta")
torch.where(x > 0, (x * 2 + x).exp().clamp(min=0), 0.0).sum()  # first-call costs apart
start = time.perf_counter()
for _ in range(repeat):
    torch.where(x > 0, (x * 2 + x).exp().clamp(min=0), 0.0).sum()
print(json.dumps({"compiled_overloads": compiled, "us_per_call": (time.perf_counter() - start) / repeat * 1e6}))
"""


def meta_kernels(repeat: int) -> dict:
    out = {}
    for mode in ("python", "compiled"):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(META), mode, str(repeat)], cwd=REPO,
                              capture_output=True, text=True, check=True)
        out[mode] = json.loads(done.stdout.splitlines()[-1])
    out["ratio_python_to_compiled"] = out["python"]["us_per_call"] / out["compiled"]["us_per_call"]
    return out


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
        "meta_kernels": meta_kernels(args.repeat),
        "wire_read": wire_read(args.repeat),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
