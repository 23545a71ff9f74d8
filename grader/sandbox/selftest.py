"""Job targets for testing and timing the sandbox itself (they run inside a confined child).

`run_source` executes `argument["source"]` as one step named `argument.get("step", "source")`;
whatever it prints is the job's output. `nothing` does nothing, to time a job's overhead.
"""
from __future__ import annotations

from typing import Any


def run_source(argument: dict[str, Any], steps) -> None:
    step = argument.get("step", "source")
    steps.start(step)
    namespace: dict[str, Any] = {"__name__": "__sandboxed__", "argument": argument}
    exec(compile(argument["source"], "<job>", "exec"), namespace)
    steps.done(step)


def nothing(argument: dict[str, Any], steps) -> None:
    steps.start("nothing")
    steps.done("nothing")


def run_steps(argument: dict[str, Any], steps) -> None:
    """`argument["steps"]`: {name: source}, each run as its own step, in order, sharing one namespace."""
    namespace: dict[str, Any] = {"__name__": "__sandboxed__", "argument": argument}
    for name, source in argument["steps"].items():
        steps.start(name)
        exec(compile(source, f"<{name}>", "exec"), namespace)
        steps.done(name)
