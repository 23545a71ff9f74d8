"""The forbid_function kind in the child: which Python functions the call ran."""
from __future__ import annotations

from grader.probes.init import calls_probe

PROBES = {"init_calls": calls_probe}
