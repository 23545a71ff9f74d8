"""The exact kind in the child: the filled values, or the exception raised."""
from __future__ import annotations

from grader.probes.init import exact_probe

PROBES = {"init_exact": exact_probe}
