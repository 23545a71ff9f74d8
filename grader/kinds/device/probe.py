"""The device kind in the child: run on the GPU, or on the CUDA model where there is none."""
from __future__ import annotations

from grader.probes.core import device_probe

from .record import DeviceRecord

PROBES = {"device": device_probe}
#: probe name → the type of the record it sends back
RECORDS = {"device": DeviceRecord}
