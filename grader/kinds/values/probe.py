"""The values kind in the child: call the function on the case, return its output and its inputs after."""
from __future__ import annotations

from grader.probes.core import call_probe

PROBES = {"call": call_probe}
