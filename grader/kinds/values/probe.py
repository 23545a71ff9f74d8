"""The values kind in the child: call the function on the case, return its output and its inputs after."""
from __future__ import annotations

from grader.probes.core import call_probe

from .record import CallRecord

PROBES = {"call": call_probe}
#: probe name → the type of the record it sends back
RECORDS = {"call": CallRecord}
