"""The distribution kind in the child: a sample of the values the initialiser drew into a fresh tensor."""
from __future__ import annotations

from grader.probes.init import sample_probe

PROBES = {"init_sample": sample_probe}
