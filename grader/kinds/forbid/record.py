"""What the forbid probe sends back (grader.probes.core.forbid_probe): what every call of the exercise reached."""
from __future__ import annotations

from typing import TypedDict

from grader.calls import RecordedError


class ForbidRecord(TypedDict, total=False):
    """The operators the exercise's calls reached, and whether the recorder saw them all."""

    #: aten operators, and "autograd" where the function asked autograd for a derivative
    ops: list[str]
    #: the recorder was still on the dispatch stack when each call returned
    recorder_intact: bool
    #: calls made under the recorder, and how many of them returned
    calls: int
    returned: int
    #: only when no call returned: the function never ran, so its operators prove nothing
    error: RecordedError
