"""Resolve reference callables named in YAML, in the grader's own process.

`torch.nn.functional.softmax` is a dotted import path; `solutions/activations.py:sigmoid`
is a teacher file relative to the course. Teacher code is trusted and is never shipped to
the learner's process.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable


class ReferenceError_(Exception):
    """A reference that cannot be imported; the message is for a teacher."""


def resolve_callable(course_root: Path, ref: str) -> Callable:
    return _resolve(str(Path(course_root).resolve()), ref)


@lru_cache(maxsize=None)
def _resolve(course_root: str, ref: str) -> Callable:
    if ":" in ref:
        file_part, _, name = ref.partition(":")
        path = Path(course_root) / file_part
        if not path.is_file():
            raise ReferenceError_(f"'{file_part}' does not exist next to course.yaml")
        module = _import_file(path)
        target = getattr(module, name, None)
        if target is None:
            raise ReferenceError_(f"'{file_part}' defines no '{name}'")
    else:
        target = _import_dotted(ref)
    if not callable(target):
        raise ReferenceError_(f"'{ref}' is not a function")
    return target


def _import_dotted(ref: str) -> object:
    parts = ref.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    raise ReferenceError_(f"cannot import '{ref}' (write it as module.function, e.g. torch.sigmoid, "
                          f"or as a file and a name, e.g. solutions/activations.py:sigmoid)")


def _import_file(path: Path) -> object:
    """Import a solution file under a private name; its folder is importable for sibling imports."""
    folder = str(path.parent)
    name = f"_torchgrade_reference_{abs(hash(str(path)))}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    # no __pycache__ written into the teacher's folder (nor, through a sibling import, next to it): a release
    # or a copy of the folder would carry it, and a test's copy of it would find one already there
    writing, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a teacher's broken solution file
            del sys.modules[name]
            raise ReferenceError_(f"importing '{path.name}' failed: {type(exc).__name__}: {exc}") from None
        return module
    finally:
        sys.dont_write_bytecode = writing
        if added:
            sys.path.remove(folder)


def aten_op_exists(op: str) -> bool:
    """An aten operator, or "autograd": asking autograd for a derivative (grader.probes.core.AUTOGRAD)."""
    import torch
    if op == "autograd":
        return True
    if not op.startswith("aten."):
        return False
    return hasattr(torch.ops.aten, op.split(".", 1)[1])
