"""Progress of a class grading: a tqdm bar (rate, ETA) on a terminal, plain lines elsewhere (CI, logs)."""
from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from .scoring import SubmissionResult
from .text import shown


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Counts graded submissions; thread-safe, so workers may call `advance` as they finish."""

    def __init__(self, total: int, *, skipped: int = 0, stream: TextIO | None = None, bar: bool | None = None,
                 quiet: bool = False):
        self.total = total
        self.skipped = skipped
        self.done = 0
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._quiet = quiet
        use_bar = bar if bar is not None else _is_tty(self._stream)
        self._bar = None
        if use_bar and not quiet and total:
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit="submission", unit_scale=False, file=self._stream,
                             dynamic_ncols=True, smoothing=0.1, desc="grading")
        elif not quiet and skipped:
            self._write(f"{skipped} already graded under the same course and files: skipped (--force regrades them)")

    def advance(self, result: SubmissionResult) -> None:
        with self._lock:
            self.done += 1
            if self._quiet:
                return
            if self._bar is not None:
                self._bar.set_postfix_str(f"{shown(result.submission)} {result.score:g}/{result.max_score:g}",
                                          refresh=False)
                self._bar.update(1)
                return
            elapsed = time.monotonic() - self._started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            self._write(f"[{self.done}/{self.total}] {shown(result.submission)}: "
                        f"{result.score:g}/{result.max_score:g} ({rate:.2f}/s, {_clock(elapsed)} elapsed, about {_clock(left)} left)")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            if self.skipped and not self._quiet:
                self._write(f"{self.skipped} already graded under the same course and files: skipped "
                            f"(--force regrades them)")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
