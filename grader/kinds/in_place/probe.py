"""The in_place kind in the child: hand over a parameter, see whether it was filled in place and returned."""
from __future__ import annotations

from grader.probes.init import in_place_probe

from .record import InPlaceRecord

PROBES = {"init_in_place": in_place_probe}
#: probe name → the type of the record it sends back
RECORDS = {"init_in_place": InPlaceRecord}
