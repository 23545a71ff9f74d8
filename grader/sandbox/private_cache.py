"""The grader's own cache folder: plans (grader.plan_cache) and matplotlib's font list (fonts.py).

TORCHGRADE_CACHE_DIR, else $XDG_CACHE_HOME/torchgrade, else ~/.cache/torchgrade. Each use keeps a
subfolder of it, mode 0700; a subfolder that belongs to someone else, or that graded code could read
(paths.read_only), is not used: what is kept there must not leak to learners or come from them.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from . import paths


def root() -> Path:
    """The cache folder (it need not exist yet)."""
    chosen = os.environ.get("TORCHGRADE_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "torchgrade"


def private_folder(name: str, *, say_why: bool = True) -> Path | None:
    """root()/name, made 0700; None where it is not this user's alone or graded code could read it."""
    folder = root() / name
    try:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        for path in reversed(missing):
            path.mkdir(mode=0o700)
        info = folder.stat()
        if info.st_uid != os.getuid():
            return None
        if info.st_mode & 0o077:
            folder.chmod(0o700)
    except OSError:
        return None
    if paths.covers(paths.read_only(), folder):
        if say_why:
            print(f"torchgrade: not caching {name} in {folder}: graded code may read that folder "
                  f"(set TORCHGRADE_CACHE_DIR elsewhere).", file=sys.stderr)
        return None
    return folder


def write_atomically(path: Path, data: bytes | memoryview) -> None:
    """Write `path` whole or not at all (a temporary file in its folder, then a rename): a reader never
    sees half an entry. Raises OSError; nothing is left behind."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:16]}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
