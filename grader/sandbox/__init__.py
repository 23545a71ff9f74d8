"""Run untrusted code in a child process with limits; knows nothing of exercises.

    with ForkServer() as server:
        outcome = server.run(Job(target="pkg.mod:function", argument={...}, workdir=path))

A ForkServer is a separate, clean Python process that imports torch and matplotlib once and
forks one confined child per job, so a job costs a fork, not an interpreter start. The server
never holds grader state (references, solutions, results), so a child finds nothing in memory.

The child calls `target(argument, steps)`; `steps.start(name)` tells the server which step is
running, so a step that hangs is stopped after `Limits.step_s`, and a child that dies is
blamed on the step it was in. Where the job names its `steps`, only the next of them may start
(the learner's code can write on that channel too), and the job's CPU is capped at their sum.
"""
from __future__ import annotations

from .api import Job, Limits, Outcome
from .policy import SandboxRefused
from .server_client import ForkServer

__all__ = ["ForkServer", "Job", "Limits", "Outcome", "SandboxRefused"]
