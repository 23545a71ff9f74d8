"""What the init_exact probe sends back (grader.probes.init.exact_probe)."""
from __future__ import annotations

from grader.calls import FillRecord

__all__ = ["FillRecord"]
