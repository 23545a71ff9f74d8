"""Grading beyond one machine: the K-th of N deterministic slices, and merging shard outputs.

A submission's shard depends on its name alone (a hash of it, modulo N), never on the order of
the list, the machine or the other submissions: a late submission added to the class lands in
one shard and moves nobody else, so every shard's rerun still finds its earlier results. The
price is that shards are balanced only on average (±√n).
"""
from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TypeVar

from .report.gradebook import write_gradebook
from .resume import RESULTS, SIDECAR, load_result, read_sidecar
from .scoring import SubmissionResult

T = TypeVar("T")

SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A shard spec or a merge that cannot be done; the message is for a teacher."""


@dataclass(frozen=True)
class Shard:
    index: int   # 1-based: 1 … count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """'K/N' with 1 ≤ K ≤ N."""
    match = SHARD.match(text or "")
    if not match:
        raise ShardError(f"--shard expects K/N, e.g. 2/8 (the 2nd of 8 slices); got '{text}'")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text}: K must be between 1 and N (shards are numbered from 1)")
    return Shard(index, count)


def shard_of(name: str, count: int) -> int:
    """The 1-based shard of a submission name among `count` shards."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()  # a name from non-UTF-8 bytes too
    return int.from_bytes(digest[:8], "big") % count + 1


def select(items: Iterable[T], shard: Shard | None, name=lambda item: item.name) -> list[T]:
    """The items of this shard, in their original order (all of them when `shard` is None)."""
    items = list(items)
    return items if shard is None else [item for item in items if shard.holds(name(item))]


@dataclass(frozen=True)
class Merged:
    results: list[SubmissionResult]
    exercise_ids: list[str]
    gradebook: Path


def merge(dirs: Iterable[Path], out: Path) -> Merged:
    """Join shard outputs into `out`: every submission folder, and one gradebook.csv.

    Refuses submissions that appear in two shards with different results, and shards graded
    under different courses (their sidecars name the course hash)."""
    out = Path(out)
    found: dict[str, tuple[Path, SubmissionResult]] = {}
    courses: dict[str, Path] = {}
    for directory in map(Path, dirs):
        if not directory.is_dir():
            raise ShardError(f"{directory}: no such directory")
        for results_file in sorted(directory.glob(f"*/{RESULTS}")):
            folder = results_file.parent
            result = load_result(folder)
            if result is None:
                raise ShardError(f"{results_file}: not a readable results.json")
            sidecar = read_sidecar(folder) or {}
            if sidecar.get("course"):
                courses.setdefault(sidecar["course"], folder)
            if result.submission in found:
                earlier_folder, earlier = found[result.submission]
                if earlier.to_json() != result.to_json():
                    raise ShardError(f"{result.submission} was graded in both {earlier_folder} and {folder} "
                                     f"with different results; grade it once and merge again")
                continue
            found[result.submission] = (folder, result)
    if len(courses) > 1:
        a, b = list(courses.values())[:2]
        raise ShardError(f"the shards were graded under different courses or options ({a.parent} and {b.parent}); "
                         f"regrade them with the same course.yaml and torchgrade version")
    for folder, _ in found.values():
        target = out / folder.name  # the folder's own name: results.json shows a non-UTF-8 name escaped
        if folder.resolve() != target.resolve():
            _copy_folder(folder, target)
    results = [result for _, result in found.values()]
    exercise_ids = _exercise_ids(results)
    gradebook = write_gradebook(results, exercise_ids, out / "gradebook.csv")
    return Merged(sorted(results, key=lambda r: r.submission), exercise_ids, gradebook)


def _copy_folder(source: Path, target: Path) -> None:
    """Copy one submission's outputs, the sidecar last (it marks the copy as complete)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.iterdir()):
        if item.name == SIDECAR:
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target / item.name)
    if (source / SIDECAR).is_file():
        shutil.copy2(source / SIDECAR, target / SIDECAR)


def _exercise_ids(results: list[SubmissionResult]) -> list[str]:
    ids: list[str] = []
    for result in results:
        for exercise in result.exercises:
            if exercise.id not in ids:
                ids.append(exercise.id)
    return ids
