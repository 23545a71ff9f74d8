"""Warm fork servers for the workers of a grading, started in the background the moment they are asked for.

Torch-free on purpose: `torchgrade check` makes its pool before it imports torch, so the server imports
torch while the command loads the course and the plan.
"""
from __future__ import annotations

import os
import queue
import threading
from typing import Callable

from .sandbox import ForkServer

#: How often a lone submission waiting to borrow a server asks again whether it still needs one.
BORROW_POLL_S = 0.02


def default_jobs() -> int:
    """The cores this process may run on: one worker each."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class WorkerPool:
    """`jobs` warm fork servers, started in the background the moment the pool is made.

    Make the pool before building the plan: the servers import torch while the grader
    prepares the checks, instead of after."""

    def __init__(self, jobs: int, preload: tuple[str, ...] = (), servers: list[ForkServer] | None = None):
        self._own = servers is None
        self._servers = servers if servers is not None else [ForkServer(preload) for _ in range(max(1, jobs))]
        self.jobs = len(self._servers)
        self._idle: queue.Queue[ForkServer] = queue.Queue()
        self._errors: list[BaseException] = []
        self._starting = [threading.Thread(target=self._start, args=(server,), daemon=True)
                          for server in self._servers]
        for thread in self._starting:
            thread.start()

    @classmethod
    def of(cls, servers: list[ForkServer]) -> "WorkerPool":
        """A pool over servers someone else owns (and closes): one worker per entry."""
        return cls(len(servers), servers=list(servers))

    def _start(self, server: ForkServer) -> None:
        try:
            server.start()
        except BaseException as exc:  # reported when a worker asks for a server
            self._errors.append(exc)
        self._idle.put(server)

    def get(self) -> ForkServer:
        server = self._idle.get()
        if self._errors:
            self._idle.put(server)
            raise self._errors[0]
        return server

    def put(self, server: ForkServer) -> None:
        self._idle.put(server)

    def borrow(self, wanted: Callable[[], bool]) -> ForkServer | None:
        """An idle server for a lone submission's module, waiting for one while `wanted()` holds; None once it
        does not (or a server failed to start). Never waits on its own: whoever borrows goes on without."""
        while wanted():
            try:
                server = self._idle.get(timeout=BORROW_POLL_S)
            except queue.Empty:
                continue
            if self._errors or not wanted():
                self._idle.put(server)
                return None
            return server
        return None

    def give_back(self, server: ForkServer) -> None:
        self._idle.put(server)

    def close(self) -> None:
        """Now if every server has started; else (an early error) once they have, without keeping the
        user waiting: the closing goes on in the background."""
        if any(thread.is_alive() for thread in self._starting):
            threading.Thread(target=self._close, daemon=True).start()
        else:
            self._close()

    def _close(self) -> None:
        for thread in self._starting:
            thread.join()
        if self._own:
            for server in self._servers:
                server.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
