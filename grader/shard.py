"""Grading beyond one machine: the K-th of N deterministic slices, and merging shard outputs.

A submission's shard depends on its name alone (a hash of it, modulo N), never on the order of
the list, the machine or the other submissions: a late submission added to the class lands in
one shard and moves nobody else, so every shard's rerun still finds its earlier results. The
price is that shards are balanced only on average (±√n).

Each shard's folder holds a record, OUT/.shard.json, of which shard of how many it is, its
submissions and whether its run finished. `merge` writes a gradebook only from the records of all N
shards of one split, every one complete with every submission's result finished; otherwise it names
the missing and incomplete shards and writes nothing, so a cancelled or failed task never becomes a
gradebook with students left out.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, TypeVar

from .report.files import write_atomic
from .report.gradebook import write_gradebook
from .resume import SIDECAR, load_result, read_sidecar
from .scoring import SubmissionResult
from .text import unicode_safe

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


RECORD = ".shard.json"


def write_record(out_dir: Path, shard: Shard, submissions: Iterable[str], course_hash: str, *,
                 complete: bool, exercise_ids: Iterable[str] = ()) -> Path:
    """OUT/.shard.json: which shard this folder holds, its submissions and whether its run finished.

    `grade --shard` writes it with complete=false before grading anything and with complete=true once
    every submission of the shard is written, so a killed or cancelled run leaves a folder that merge
    knows to be incomplete, whatever results it already holds."""
    data = {"shard": shard.index, "count": shard.count, "course": course_hash, "complete": complete,
            "submissions": sorted(submissions), "exercises": list(exercise_ids)}
    path = Path(out_dir) / RECORD
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return path


@dataclass(frozen=True)
class ShardRecord:
    folder: Path
    shard: Shard
    course: str
    complete: bool
    submissions: tuple[str, ...]
    exercise_ids: tuple[str, ...]


def read_record(folder: Path) -> ShardRecord:
    """The shard record of a `grade --shard` output folder; ShardError when it has none."""
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        record = ShardRecord(folder, Shard(int(data["shard"]), int(data["count"])), str(data["course"]),
                             data["complete"] is True, tuple(map(str, data["submissions"])),
                             tuple(map(str, data.get("exercises") or ())))
    except FileNotFoundError:
        raise ShardError(f"{folder} has no {RECORD}: it is not the output of `torchgrade grade --shard K/N`, "
                         f"or its run stopped before it began; run that shard (again)") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ShardError(f"{folder / RECORD} is not a readable shard record; run that shard again") from None
    if not 1 <= record.shard.index <= record.shard.count:
        raise ShardError(f"{folder / RECORD} names shard {record.shard}, which does not exist; run that shard again")
    return record


@dataclass(frozen=True)
class Merged:
    results: list[SubmissionResult]
    exercise_ids: list[str]
    gradebook: Path


def merge(dirs: Iterable[Path], out: Path) -> Merged:
    """Join the outputs of every shard 1 … N of one class into `out`: its submission folders and one
    gradebook.csv.

    Refuses, naming the shards, and writes nothing, while a shard of the N is missing or incomplete
    (its run was stopped, or a submission of it has no finished result), when shards were cut into
    different numbers of slices or graded under different courses or options, and when one
    submission was graded differently in two shards."""
    out = Path(out)
    records = []
    for directory in map(Path, dirs):
        if not directory.is_dir():
            raise ShardError(f"{directory}: no such directory")
        records.append(read_record(directory))
    if not records:
        raise ShardError("no shard folders to merge")
    counts = sorted({r.shard.count for r in records})
    if len(counts) > 1:
        raise ShardError("the folders hold shards of different splits (" + ", ".join(
            f"{r.folder} is {r.shard}" for r in records) + "); merge the shards of one run of N")
    count = counts[0]
    courses: dict[str, Path] = {}
    for record in records:
        courses.setdefault(record.course, record.folder)
    if len(courses) > 1:
        a, b = list(courses.values())[:2]
        raise ShardError(f"the shards were graded under different courses or options ({a} and {b}); "
                         f"regrade them with the same course.yaml and torchgrade version")

    problems: list[str] = []
    by_index: dict[int, ShardRecord] = {}
    for record in records:
        if record.shard.index in by_index:
            problems.append(f"shard {record.shard} is given twice ({by_index[record.shard.index].folder} "
                            f"and {record.folder})")
        by_index.setdefault(record.shard.index, record)
    for index in range(1, count + 1):
        if index not in by_index:
            problems.append(f"shard {index}/{count} is missing: none of the folders given holds it "
                            f"(was it run? its output goes to a folder named shard-{index})")
    found: dict[str, tuple[Path, SubmissionResult]] = {}
    for record in records:
        unfinished = []
        for name in record.submissions:
            folder = record.folder / name
            sidecar = read_sidecar(folder) or {}
            result = load_result(folder)
            graded = result is not None and sidecar.get("course") == record.course
            # a submission that could not be graded has its result (with its reason) and no grading key: it is
            # finished for this run, so it costs only itself and never holds the class's gradebook back
            ungradable = result is not None and bool(result.details.get("error")) and record.complete
            if not (graded or ungradable) or result.submission != unicode_safe(name):  # results.json holds a non-UTF-8 name escaped
                unfinished.append(name)
                continue
            if name in found and found[name][1].to_json() != result.to_json():
                raise ShardError(f"{name} was graded in both {found[name][0]} and {folder} "
                                 f"with different results; grade it once and merge again")
            found.setdefault(name, (folder, result))
        why = ["its run did not finish"] if not record.complete else []
        if unfinished:
            why.append(f"no finished result for {len(unfinished)} of its {len(record.submissions)} submissions "
                       f"({_some(unfinished)})")
        if why:
            problems.append(f"shard {record.shard} in {record.folder} is incomplete: {'; '.join(why)}")
    if problems:
        raise ShardError("no gradebook written, the class is not complete:\n  " + "\n  ".join(problems)
                         + "\nRun the missing or incomplete shards again (a rerun grades only what is not "
                           "finished), then merge again.")

    for name, (folder, _) in found.items():
        target = out / folder.name  # the folder's own name: results.json shows a non-UTF-8 name escaped
        if folder.resolve() != target.resolve():
            _copy_folder(folder, target)
    results = [result for _, result in found.values()]
    exercise_ids = next((list(r.exercise_ids) for r in records if r.exercise_ids), None) or _exercise_ids(results)
    gradebook = write_gradebook(results, exercise_ids, out / "gradebook.csv")
    return Merged(sorted(results, key=lambda r: r.submission), exercise_ids, gradebook)


def _some(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


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
