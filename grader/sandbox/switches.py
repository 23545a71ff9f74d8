"""Switches that turn a confinement off, to see the fallbacks on a machine that has the real thing.

Read from the environment when this module is first imported (so a child still sees what its
server was started with after its own environment is cleaned) and again on each call.
"""
from __future__ import annotations

import os

NAMES = ("TORCHGRADE_PRETEND_NO_LANDLOCK", "TORCHGRADE_NO_CGROUP", "TORCHGRADE_NO_USERNS")
_AT_IMPORT = frozenset(name for name in NAMES if os.environ.get(name) == "1")


def on(name: str) -> bool:
    return name in _AT_IMPORT or os.environ.get(name) == "1"
