"""The forbid kind in the child: which operators the calls of the exercise reached (the operator recorder)."""
from __future__ import annotations

from grader.probes.core import forbid_probe

from .record import ForbidRecord

PROBES = {"forbid": forbid_probe}
#: it reports what every call of the exercise reached: the child runs it after the others, all recorded
RUN_LAST = frozenset({"forbid"})
#: probe name → the type of the record it sends back
RECORDS = {"forbid": ForbidRecord}
