"""The forbid kind in the child: which operators the calls of the exercise reached (the operator recorder)."""
from __future__ import annotations

from grader.probes.core import forbid_probe

PROBES = {"forbid": forbid_probe}
