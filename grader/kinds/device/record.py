"""What the device probe sends back (grader.probes.core.device_probe)."""
from __future__ import annotations

from typing import TypedDict

from grader.calls import EncodedValue, RecordedError


class DeviceRecord(TypedDict, total=False):
    """The call on the CPU first, then on the GPU or the CUDA model standing in for one."""

    #: the CPU run raised: the device is not checked
    cpu_error: RecordedError
    #: "cuda", or "model" (grader.probes.cuda_model) where there is no GPU
    device: str
    output: EncodedValue
    error: RecordedError
