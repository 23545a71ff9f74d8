"""The forbid_function kind in the child: which Python functions the call ran."""
from __future__ import annotations

from grader.probes.init import calls_probe

from .record import CallsRecord

PROBES = {"init_calls": calls_probe}
#: probe name → the type of the record it sends back
RECORDS = {"init_calls": CallsRecord}
