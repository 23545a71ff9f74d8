"""The generator kind in the child: the values under given seeds, and whether the global generator moved."""
from __future__ import annotations

from grader.probes.init import generator_probe

from .record import GeneratorRecord

PROBES = {"init_generator": generator_probe}
#: probe name → the type of the record it sends back
RECORDS = {"init_generator": GeneratorRecord}
