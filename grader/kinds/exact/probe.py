"""The exact kind in the child: the filled values, or the exception raised."""
from __future__ import annotations

from grader.probes.init import exact_probe

from .record import FillRecord

PROBES = {"init_exact": exact_probe}
#: probe name → the type of the record it sends back
RECORDS = {"init_exact": FillRecord}
