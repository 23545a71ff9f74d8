"""The gradient kind in the child: back-propagate an upstream gradient through the function."""
from __future__ import annotations

from grader.probes.core import grad_probe

PROBES = {"grad": grad_probe}
