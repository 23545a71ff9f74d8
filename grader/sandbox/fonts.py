"""matplotlib's font list, built once per interpreter and kept in the grader's private cache.

Each fork server has a fresh MPLCONFIGDIR, so matplotlib would scan the system's fonts (running
`fc-list`) on every start. The server's list is the one matplotlib itself would build: it is copied
into the server's MPLCONFIGDIR before the server starts, and what the server's matplotlib left there
is kept once the server is ready, before any job (no graded code has run in it yet). A list that
names a font file gone since is rebuilt by matplotlib itself, and that rebuilt list is kept next.
Anything unusable is skipped: the server then builds its own list, as without a cache.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator

from . import private_cache

#: matplotlib's name for its font list (the number is its FontManager's format version).
PATTERN = "fontlist-v*.json"
#: A font list is some hundred kilobytes; anything far larger is not one.
MAX_BYTES = 16 * 1024 * 1024


def _folder(python: str) -> Path | None:
    """The cache's folder for this interpreter: font lists name files inside its matplotlib."""
    base = private_cache.private_folder("fonts", say_why=False)
    if base is None:
        return None
    folder = base / hashlib.sha256(os.path.abspath(python).encode()).hexdigest()[:16]
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder


def _lists(folder: Path) -> dict[str, bytes]:
    found = {}
    for path in folder.glob(PATTERN):
        try:
            with open(path, "rb") as file:
                if os.fstat(file.fileno()).st_uid != os.getuid():
                    continue
                data = file.read(MAX_BYTES + 1)
        except OSError:
            continue
        if len(data) <= MAX_BYTES:
            found[path.name] = data
    return found


@contextlib.contextmanager
def kept_for(python: str, config_dir: Path) -> Iterator[None]:
    """Around the start of a process that warms up with MPLCONFIGDIR = config_dir (until it says it is
    ready, before any job): the kept font lists copied in first, and the lists its matplotlib built or
    rebuilt kept after. Nothing is kept where the start fails."""
    seeded = _seed(python, config_dir)
    yield
    _keep(python, config_dir, seeded)


def _seed(python: str, config_dir: Path) -> dict[str, bytes]:
    """Copy the kept font lists into config_dir; what was copied."""
    folder = _folder(python)
    if folder is None:
        return {}
    kept = _lists(folder)
    try:
        config_dir.mkdir(mode=0o700, exist_ok=True)
        for name, data in kept.items():
            (config_dir / name).write_bytes(data)
    except OSError:
        return {}
    return kept


def _keep(python: str, config_dir: Path, seeded: dict[str, bytes]) -> None:
    folder = _folder(python)
    if folder is None:
        return
    for name, data in _lists(config_dir).items():
        if seeded.get(name) == data:
            continue
        try:
            private_cache.write_atomically(folder / name, data)
        except OSError:
            pass
