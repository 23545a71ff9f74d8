"""The distribution kind in the child: a sample of the values the initialiser drew into a fresh tensor."""
from __future__ import annotations

from grader.probes.init import sample_probe

from .record import FillRecord

PROBES = {"init_sample": sample_probe}
#: probe name → the type of the record it sends back
RECORDS = {"init_sample": FillRecord}
