"""The finite kind in the child: call the function, count the numbers of its output that are not finite."""
from __future__ import annotations

from typing import Callable

import torch

from grader.calls import Call
from grader.encode import encode_error, plain_tensor
from grader.probes.core import invoke

from .record import FiniteRecord


def finite_probe(fn: Callable, call: Call) -> FiniteRecord:
    """Call fn once on the case (under the operator recorder where the exercise is watched); count its
    nan and inf."""
    args = [a.to(call["device"]) if isinstance(a, torch.Tensor) else a for a in call["args"]]
    try:
        out = invoke(fn, args, call.get("kwargs", {}))
    except BaseException as exc:
        return FiniteRecord(error=encode_error(exc, call.get("submission_dir")))  # type: ignore[typeddict-item]
    if not isinstance(out, torch.Tensor):
        return FiniteRecord(tensor=False, type=type(out).__name__, total=0, nan=0, inf=0, first=None)
    values = plain_tensor(out)
    if not (values.is_floating_point() or values.is_complex()):
        return FiniteRecord(tensor=True, type="Tensor", total=values.numel(), nan=0, inf=0, first=None)
    nan, inf = torch.isnan(values), torch.isinf(values)
    bad = (nan | inf).nonzero()
    first = [int(i) for i in bad[0]] if len(bad) else None
    return FiniteRecord(tensor=True, type="Tensor", total=values.numel(), nan=int(nan.sum()), inf=int(inf.sum()),
                        first=first)


PROBES = {"finite": finite_probe}
#: probe name → the type of the record it sends back
RECORDS = {"finite": FiniteRecord}
