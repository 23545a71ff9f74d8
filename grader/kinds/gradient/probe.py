"""The gradient kind in the child: back-propagate an upstream gradient through the function."""
from __future__ import annotations

from grader.probes.core import grad_probe

from .record import GradRecord

PROBES = {"grad": grad_probe}
#: it back-propagates: the fork server warms it only where a backward pass starts no GPU
BACKWARD = frozenset({"grad"})
#: probe name → the type of the record it sends back
RECORDS = {"grad": GradRecord}
