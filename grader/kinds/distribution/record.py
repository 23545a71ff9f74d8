"""What the init_sample probe sends back (grader.probes.init.sample_probe)."""
from __future__ import annotations

from grader.calls import FillRecord

__all__ = ["FillRecord"]
