"""The data that crosses the sandbox boundary: what to run, under which limits, and what happened."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Limits:
    step_s: float = 10.0          # wall time of one step before the child is killed
    step_cpu_s: float | None = None  # CPU time of one step (the child's own and its reaped children's); None: no
                                     # such limit. With it, step_s is the backstop for code that sleeps or blocks.
    total_s: float = 600.0        # wall time of the whole job
    cpu_s: float | None = None    # CPU time of the child (SIGXCPU, then SIGKILL a second later); None: total_s + 1
    memory_mb: int = 2048         # address space the child may add to the warm interpreter's
    file_mb: int = 64             # largest file the child may write
    output_kb: int = 64           # stdout and stderr kept, each; the rest is read and dropped
    processes: int = 64           # processes and threads the child may have at once
    threads: int = 1              # torch intra-op threads in the child

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Job:
    target: str                   # "package.module:function", called as function(argument, steps)
    argument: dict[str, Any]      # JSON-able
    workdir: str                  # the child's cwd, HOME and TMPDIR; the only place it may write
    limits: Limits = field(default_factory=Limits)
    readable: tuple[str, ...] = ()  # extra paths the child may read (its submission, the inputs)
    env: dict[str, str] = field(default_factory=dict)
    require: tuple[str, ...] = ()  # confinements without which the child refuses to run: "landlock", "own-user", "ipc-namespace"
    gpu: bool = False             # the job uses CUDA: the GPU's device files and what the driver needs are allowed
    # ("package.module:function", argument): called in the fork server before the fork, so the child
    # inherits what it loads (the same for every job of a run). Trusted code only; the child must work
    # without it (a spawned child does).
    prepare: tuple[str, str] | None = None
    # The steps the target will announce, in order. Each may start once, in this order (a forged
    # announcement restarts no clock), and the job's CPU time is capped at step_cpu_s per step.
    # Empty: any step name, each once.
    steps: tuple[str, ...] = ()
    # Folders the child must not even see (the course: solutions/, exercises/): under root, its view of
    # each holds only what it needs below it (e.g. the grader package of a checkout). Elsewhere Landlock
    # still keeps it from reading them; names, sizes and times are then visible where permissions allow.
    hidden: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "argument": self.argument, "workdir": self.workdir,
            "limits": self.limits.to_json(), "readable": list(self.readable), "env": dict(self.env),
            "require": list(self.require), "gpu": self.gpu, "prepare": list(self.prepare) if self.prepare else None,
            "steps": list(self.steps), "hidden": list(self.hidden),
        }


@dataclass(frozen=True)
class Outcome:
    """How the child ended. `failed_step` is the step it was in when it died or was stopped."""

    exit_code: int | None
    signal: int | None
    steps_done: tuple[str, ...]
    failed_step: str | None
    reason: str | None            # "timeout", "step_cpu", "cpu", "processes", "signal", "exit", "refused", "crash", or None
    stdout: str
    stderr: str
    output_truncated: bool
    wall_s: float
    confinement: tuple[str, ...] = ()  # what the child was confined by, e.g. ("rlimits", "landlock-fs")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.reason is None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Outcome":
        return cls(
            exit_code=data.get("exit_code"), signal=data.get("signal"),
            steps_done=tuple(data.get("steps_done", ())), failed_step=data.get("failed_step"),
            reason=data.get("reason"), stdout=data.get("stdout", ""), stderr=data.get("stderr", ""),
            output_truncated=bool(data.get("output_truncated")), wall_s=float(data.get("wall_s", 0.0)),
            confinement=tuple(data.get("confinement", ())),
        )
