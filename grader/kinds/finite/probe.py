"""The finite kind in the child: call the function, count the numbers of its output that are not finite."""
from __future__ import annotations

from typing import Callable

import torch

from grader.calls import Call, arguments
from grader.encode import encode_error, plain_tensor
from grader.probes.core import invoke

from .record import FiniteRecord

# Bound once, when the child starts: a submission that rebinds torch.isinf (or Tensor.sum) in its module
# must not make an overflow look finite. (The child is the learner's process: what it reports of itself
# can be forged with more effort; this keeps the one-line rebinding out, as grader.probes.core does.)
_ISNAN, _ISINF, _OR, _SUM, _NONZERO = torch.isnan, torch.isinf, torch.logical_or, torch.sum, torch.nonzero
_IS_FLOAT, _IS_COMPLEX, _NUMEL = torch.is_floating_point, torch.is_complex, torch.numel


def finite_probe(fn: Callable, call: Call) -> FiniteRecord:
    """Call fn once on the case (under the operator recorder where the exercise is watched); count its
    nan and inf."""
    args = arguments(call, call["device"])
    try:
        out = invoke(fn, args, call.get("kwargs", {}))
    except BaseException as exc:
        return FiniteRecord(error=encode_error(exc, call.get("submission_dir")))  # type: ignore[typeddict-item]
    if not isinstance(out, torch.Tensor):
        return FiniteRecord(tensor=False, type=type(out).__name__, total=0, nan=0, inf=0, first=None)
    values = plain_tensor(out)
    total = int(_NUMEL(values))
    if not (_IS_FLOAT(values) or _IS_COMPLEX(values)):
        return FiniteRecord(tensor=True, type="Tensor", total=total, nan=0, inf=0, first=None)
    nan, inf = _ISNAN(values), _ISINF(values)
    bad = _NONZERO(_OR(nan, inf))
    first = [int(i) for i in bad[0].tolist()] if bad.shape[0] else None
    return FiniteRecord(tensor=True, type="Tensor", total=total, nan=int(_SUM(nan)), inf=int(_SUM(inf)), first=first)


PROBES = {"finite": finite_probe}
#: probe name → the type of the record it sends back
RECORDS = {"finite": FiniteRecord}
