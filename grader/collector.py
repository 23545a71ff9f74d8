"""The garbage collector around the grader's large loads, where a collection only walks live objects.

Importing torch, loading a course and its plan, and judging one submission make objects, not garbage:
a collection meanwhile walks hundreds of thousands of live objects for nothing (≈ 0.4 CPU s of a
`torchgrade check`, ≈ 0.6 s of pytest in a bundle). `paused()` switches collection off for the block
and then freezes what exists (`gc.freeze`: the later collections of the process skip those objects).
For a process that ends soon after: the little garbage this keeps is freed by its exit.
"""
from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused(freeze: bool = True) -> Iterator[None]:
    """No collection inside the block; afterwards (`freeze`) every object that exists is left out of later ones."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if collecting:
            gc.enable()
