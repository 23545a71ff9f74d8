"""Every process a job started, found and killed; and how many it may have at once.

Two ways to find a job's processes. A pids cgroup (where this server may create one: root, or a
delegated cgroup v2 subtree) holds every process the job forks, however detached, and its
`pids.max` caps how many there are — for root too, whom RLIMIT_NPROC does not bind. Without one,
the fork server is a child subreaper, so orphans (double forks, `start_new_session=True`) are
re-parented to it and found by walking its descendants through /proc.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import switches


def _children_of(pid: int) -> list[int]:
    """Direct children of pid, all threads; falls back to a full /proc scan without CONFIG_PROC_CHILDREN."""
    kids: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
        for tid in tids:
            with open(f"/proc/{pid}/task/{tid}/children") as children:
                kids += [int(k) for k in children.read().split()]
        return kids
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []
    except OSError:
        return []
    return [child for child, parent in _parent_map().items() if parent == pid]


def _parent_map() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid (children first)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        kids = [k for parent in frontier for k in _children_of(parent)]
        found += kids
        frontier = kids
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(pid: int | None = None, rounds: int = 200) -> int:
    """SIGKILL all descendants of pid (default: this process) until none is left; return how many."""
    pid = os.getpid() if pid is None else pid
    killed = 0
    for _ in range(rounds):
        found = descendants(pid)
        if not found:
            return killed
        for victim in found:  # all of them at once, so none is left to fork between rounds
            try:
                os.kill(victim, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        time.sleep(0.002)
    return killed


@dataclass
class _ServerCgroup:
    """A cgroup below the grader's own that one fork server has moved into (`path`, below `parent`)."""

    path: Path
    parent: Path

    def leave(self) -> None:
        """Move the server back to the parent and delete the cgroup."""
        try:
            (self.parent / "cgroup.procs").write_text(str(os.getpid()))
            self.path.rmdir()
        except OSError:
            pass


class PidsCgroup(_ServerCgroup):
    """A pids cgroup that one fork server lives in, so that every child it forks is born inside.

    Moving a process between cgroups is slow (v1 waits for an RCU grace period: ~10 ms under
    load), so the server moves itself in once; its children inherit the cgroup at fork for free.
    Before each job `pids.max` is set to the server's own tasks plus the job's allowance.
    """

    @classmethod
    def create(cls, name: str) -> "PidsCgroup | None":
        """Make a cgroup below this process's own and move this process in; None where not allowed."""
        made = _move_into_new("pids", name, lambda v2: {"pids.max": "max"})
        return cls(*made) if made else None

    def set_max(self, processes: int) -> None:
        """Allow `processes` tasks (processes and threads) besides the server's own."""
        own = int((self.path / "pids.current").read_text())
        (self.path / "pids.max").write_text(str(own + int(processes)))

    def members(self) -> list[int]:
        """Every process in the cgroup but the server."""
        me = os.getpid()
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split() if int(p) != me]
        except OSError:
            return []

    def kill_all(self, rounds: int = 400) -> int:
        killed = 0
        for _ in range(rounds):
            found = self.members()
            if not found:
                return killed
            for victim in found:
                try:
                    os.kill(victim, signal.SIGKILL)
                    killed += 1
                except (ProcessLookupError, PermissionError):
                    pass
            _reap()
            time.sleep(0.001)
        return killed

    def remove(self) -> None:
        """Kill what is left, move the server back out, delete the cgroup."""
        self.kill_all()
        self.leave()


class CpuShare(_ServerCgroup):
    """A cgroup with a CPU quota of one core that one fork server lives in, so that every child it forks is
    born inside: a job's processes, however many it forks (a learner's spinners), share one core, and the
    jobs of the grader's other servers keep theirs. A child runs torch on one thread, so right work never
    needs more. Best effort: where no cpu cgroup may be made (not root, no delegated cpu controller),
    there is none and nothing else changes."""

    PERIOD_US = 100_000

    @classmethod
    def create(cls, name: str) -> "CpuShare | None":
        one_core = str(cls.PERIOD_US)
        made = _move_into_new("cpu", name, lambda v2: {"cpu.max": f"{one_core} {one_core}"} if v2 else
                              {"cpu.cfs_period_us": one_core, "cpu.cfs_quota_us": one_core})
        return cls(*made) if made else None

    def remove(self) -> None:
        """Move the server back out and delete the cgroup (its children are gone by then)."""
        self.leave()


def _remove_stale(parent: Path) -> None:
    """Empty cgroups of servers that died without cleaning up (named torchgrade-<pid>)."""
    try:
        for stale in parent.glob("torchgrade-*"):
            pid = stale.name.rpartition("-")[2]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:
                    stale.rmdir()
                except OSError:
                    pass
    except OSError:
        pass


def _move_into_new(controller: str, name: str,
                   settings: Callable[[bool], dict[str, str]]) -> tuple[Path, Path] | None:
    """Make the cgroup `name` with `controller` below this process's own, write `settings(is_v2)` into it and
    move this process in: (its path, its parent) at the first place all of that is allowed, else None."""
    if switches.on("TORCHGRADE_NO_CGROUP"):
        return None
    for parent, v2 in _own_cgroups(controller):
        _remove_stale(parent)
        path = parent / name
        try:
            path.mkdir(exist_ok=True)
            for file, value in settings(v2).items():
                (path / file).write_text(value)
            (path / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            continue
        return path, parent
    return None


def _own_cgroups(controller: str) -> list[tuple[Path, bool]]:
    """Folders where a cgroup with `controller` below this process's own could be made, each with whether it
    is cgroup v2: v1 first, then v2 (there the controller must be enabled for the children)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    v1_mount = v2_mount = None
    for line in mounts:
        left, _, right = line.partition(" - ")
        fstype, _, options = (right.split() + ["", "", ""])[:3]
        mount_point = left.split()[4]
        if fstype == "cgroup" and controller in options.split(","):
            v1_mount = mount_point
        elif fstype == "cgroup2" and v2_mount is None:
            v2_mount = mount_point
    found: list[tuple[Path, bool]] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if v1_mount and controller in controllers.split(","):
            found.append((Path(v1_mount) / path.lstrip("/"), False))
        elif controllers == "" and v2_mount:
            own = Path(v2_mount) / path.lstrip("/")
            try:
                if controller in (own / "cgroup.subtree_control").read_text().split():
                    found.append((own, True))
            except OSError:
                pass
    return found
