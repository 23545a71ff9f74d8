"""The child's sys.stdout and sys.stderr: the first part of what the learner's code prints reaches the
server, the rest is counted and dropped in the child, without a system call.

A print of 100 MB in every call then costs the child what making the string costs, not the minutes
of pushing it through a pipe that the server reads and discards: whether such a function passes no
longer depends on how fast a machine moves bytes. Writes to the file descriptors themselves
(os.write(1, …), C code) still go to the pipe, where the server keeps its share and drops the rest.
"""
from __future__ import annotations

import io
import os


class KeptThenDropped(io.RawIOBase):
    """Writes the first `keep` bytes to `fd`, then reports every write as done without making it."""

    def __init__(self, fd: int, keep: int):
        super().__init__()
        self._fd = fd
        self._room = keep

    @property
    def name(self) -> int:
        return self._fd

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        kept = view[:max(self._room, 0)]
        self._room -= kept.nbytes
        while kept.nbytes:
            try:
                kept = kept[os.write(self._fd, kept):]
            except InterruptedError:
                continue
        return view.nbytes


def text_stream(fd: int, keep: int) -> io.TextIOWrapper:
    """A line-buffered UTF-8 text stream on fd, as open(fd, "w", buffering=1) is, keeping `keep` bytes."""
    return io.TextIOWrapper(io.BufferedWriter(KeptThenDropped(fd, keep)), encoding="utf-8", errors="replace",
                            line_buffering=True)
