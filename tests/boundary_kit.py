"""Bad submissions of every kind that once stopped a class's run, and good ones to grade beside them.

Shared by the boundary and fuzz tests: each maker writes one submission under a folder and returns its path.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOOD_SIGMOID_GRAD = "import torch\n\ndef sigmoid_grad(x):\n    s = torch.sigmoid(x)\n    return s * (1 - s)\n"


def notebook(cells: list, path: Path) -> Path:
    """A format-4 notebook with the given cells (dicts are taken as they are, strings become code cells)."""
    made = [c if not isinstance(c, str) else {"cell_type": "code", "metadata": {}, "source": c, "outputs": [],
                                              "execution_count": None} for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": made, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def good(root: Path, name: str, source: str = "solutions") -> Path:
    return Path(shutil.copytree(REPO / source, root / name))


def metadata_list(root: Path) -> Path:
    return notebook(["import torch\n", {"cell_type": "code", "metadata": [], "source": GOOD_SIGMOID_GRAD,
                                        "outputs": [], "execution_count": None}], root / "meta-list" / "work.ipynb")


def nbgrader_string(root: Path) -> Path:
    return notebook([{"cell_type": "code", "metadata": {"nbgrader": "yes"}, "source": GOOD_SIGMOID_GRAD,
                      "outputs": [], "execution_count": None}], root / "nbgrader-string" / "work.ipynb")


def source_numbers(root: Path) -> Path:
    return notebook([{"cell_type": "code", "metadata": {}, "source": [1, 2, 3], "outputs": [],
                      "execution_count": None}], root / "source-numbers" / "work.ipynb")


def enormous_expression(root: Path) -> Path:
    return notebook([GOOD_SIGMOID_GRAD, "x = " + "+".join(["1"] * 200_000) + "\n"],
                    root / "enormous" / "work.ipynb")


def surrogate_message(root: Path) -> Path:
    folder = root / "surrogate"
    folder.mkdir(parents=True)
    (folder / "activations.py").write_text('def sigmoid_grad(x):\n    raise ValueError("bad \\udcff byte")\n')
    (folder / "losses.py").write_text('import torch\n\ndef bce_loss(p, target):\n    return torch.tensor("\\udcff")\n')
    return folder


def non_utf8_name(root: Path) -> Path:
    folder = good(root, "latin1-names")
    with open(os.fsencode(folder) + b"/r\xe9sum\xe9.py", "wb") as handle:
        handle.write(b"x = 1\n")
    return folder


def non_utf8_folder(root: Path) -> Path:
    folder = Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9"))
    shutil.copytree(REPO / "solutions", folder)
    return folder


#: Trees made by deep_folders, removed after each test (tests/conftest.py): shutil.rmtree, and so pytest's
#: own cleanup of old temporary folders, recurses once per level and fails on them.
MADE_DEEP: list[Path] = []


def remove_deep(folder: Path) -> None:
    """Remove a deep_folders tree without recursion: down its chain of "d" folders, then up, one rmdir a level."""
    if not folder.exists():
        return
    fd = os.open(folder, os.O_RDONLY)
    depth = 0
    while True:
        try:
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        except (FileNotFoundError, NotADirectoryError):
            break
        os.close(fd)
        fd, depth = inner, depth + 1
    for _ in range(depth):
        parent = os.open("..", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = parent
        os.rmdir("d", dir_fd=fd)
    os.close(fd)
    shutil.rmtree(folder, ignore_errors=True)


def deep_folders(root: Path, depth: int = 1100) -> Path:
    folder = good(root, "deep")
    MADE_DEEP.append(folder)
    fd = os.open(folder, os.O_RDONLY)
    try:  # each level made relative to the last: the full path is far beyond PATH_MAX
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    return folder


def too_many_files(root: Path) -> Path:
    folder = good(root, "hoard")
    for index in range(5001):
        (folder / f"data{index}.csv").touch()
    return folder


def reserved_name(root: Path) -> Path:
    return good(root, "gradebook.csv")


BAD_KINDS = {"metadata_list": metadata_list, "source_numbers": source_numbers,
             "enormous_expression": enormous_expression, "surrogate_message": surrogate_message,
             "non_utf8_name": non_utf8_name, "non_utf8_folder": non_utf8_folder, "deep_folders": deep_folders, "reserved_name": reserved_name, "too_many_files": too_many_files,
             "nbgrader_string": nbgrader_string}
