"""Switches that turn a confinement or an optional mechanism off, to see the fallbacks on a machine that
has the real thing.

Read from the environment when this module is first imported (so a child still sees what its
server was started with after its own environment is cleaned) and again on each call.
"""
from __future__ import annotations

import os

NAMES = ("TORCHGRADE_PRETEND_NO_LANDLOCK", "TORCHGRADE_NO_CGROUP", "TORCHGRADE_NO_USERNS", "TORCHGRADE_NO_OWN_USER",
         "TORCHGRADE_NO_LAZY_DYNAMO")
_AT_IMPORT = frozenset(name for name in NAMES if os.environ.get(name) == "1")


def on(name: str) -> bool:
    return name in _AT_IMPORT or os.environ.get(name) == "1"

#: Where the GPU driver is and which GPUs a job may use: needed by a CUDA child, secret to nobody. On a GPU
#: machine LD_LIBRARY_PATH often names the driver's folder (/usr/local/nvidia/lib64) ahead of a stub
#: libcuda elsewhere; without it CUDA fails in every child ("initialization error"). Never PYTHONPATH.
GPU_ENVIRONMENT = ("LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES",
                   "NVIDIA_DRIVER_CAPABILITIES", "CUDA_MODULE_LOADING")
