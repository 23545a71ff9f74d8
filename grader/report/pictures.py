"""Where the pictures a feedback names can be opened, said in the words of each place it is read.

Checks name their pictures as `feedback/<file>.png` (the folder `check` and `grade` write them to).
Before a reader sees the text, each front end rewrites those mentions: the terminal names the file
it actually wrote, the HTML page says the picture is beside the text, and a platform where the
student cannot open a file (Gradescope) says how to see the picture instead of naming a file.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

#: A picture a feedback names: `feedback/<file>.png` (file names are the grader's, never a student's).
MENTION = re.compile(r"feedback/([A-Za-z0-9_.\-]+\.png)")


def mentioned(text: str) -> list[str]:
    """The picture files a feedback names, in order, each once."""
    return list(dict.fromkeys(MENTION.findall(text)))


def rewrite_mentions(text: str, replace: Callable[[str], str]) -> str:
    """`text` with each `feedback/<file>` replaced by `replace(file)`."""
    return MENTION.sub(lambda match: replace(match.group(1)), text)


def pointing_at(text: str, folder: Path, cwd: Path | None = None) -> str:
    """Mentions rewritten to the files as written under `folder/feedback/` (relative to cwd when inside it)."""
    base = Path.cwd() if cwd is None else cwd

    def where(name: str) -> str:
        path = (Path(folder) / "feedback" / name).resolve()
        try:
            return str(path.relative_to(base.resolve()))
        except ValueError:
            return str(path)

    return rewrite_mentions(text, where)


def not_a_file(text: str, how_to_see: str) -> str:
    """For readers who cannot open the grader's files: the picture named, and how to see it."""
    if not MENTION.search(text):
        return text
    return rewrite_mentions(text, lambda name: f"the picture {name}") + f"\n({how_to_see})"
