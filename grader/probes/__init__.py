"""What runs inside the learner's child process: call the function as asked, return plain data.

A probe takes the learner's function and one call description (arguments, keywords, device,
options) and returns a dict of plain values and CPU tensors. Probes observe; they never judge:
every verdict is made in the grader's process from what they return.

Each kind registers its probes in its own folder (grader/kinds/<kind>/probe.py, gathered by
grader.kinds.probes()); here is what several kinds share: calling the function and the operator
recorder (core), the CUDA model (cuda_model), the initialisers' fresh tensors (init), the signature
check, and what keeps the child's start fast (lazy_dynamo, meta_kernels).
"""
from __future__ import annotations

from typing import Any, Callable

from ..calls import Call

#: A probe: the learner's function and one call in, plain data (the call's record) out.
Probe = Callable[[Callable, Call], dict[str, Any]]
