"""The contract between a kind's judge and its probe: what the grader asks the child to run (Call), and
the parts of what comes back that every kind reads the same way (EncodedValue, RecordedError). What
one kind's probe sends back is that kind's record type (grader/kinds/<kind>/record.py).

Both sides import it, so it imports nothing of grader. A judge builds its calls with
grader.checks.base.make_call (or new_call, init_call), never by hand; a probe reads the fields it
needs. Records are untrusted data from the child: a judge reads them defensively whatever they claim.
"""
from __future__ import annotations

from typing import Any, TypedDict

import torch

try:  # Python 3.11
    from typing import Required
except ImportError:  # pragma: no cover - Python 3.10
    from typing_extensions import Required


class Call(TypedDict, total=False):
    """One call of the learner's function, as the child runs it."""

    #: "<check label>/<case id>": where the child files the call's record (grader.checks.base.call_key)
    key: Required[str]
    #: the registered probe that runs it (grader.kinds.probes(): a kind folder's probe module)
    probe: Required[str]
    #: the case's tensors, positional in signature order, and their parameter names
    arg_names: list[str]
    args: list[Any]
    #: keyword arguments, plain values
    kwargs: dict[str, Any]
    #: "cpu" or "cuda"
    device: str
    #: what the probe needs besides the arguments, its own to read (wrt, upstream, filename …)
    options: dict[str, Any]
    #: initialiser calls: the probe makes the tensor itself from shape, dtype and seed
    shape: list[int] | None
    dtype: str
    seed: int
    prefill: float | None
    #: hand the function non-contiguous views of the float tensors in args (a strided case: grader.cases)
    strided: bool
    #: added by the child: the submission's folder, to tell the learner's frames from the grader's
    submission_dir: str


class RecordedError(TypedDict, total=False):
    """What a record's `error` holds when the learner's code raised (grader.encode.encode_error)."""

    type: Required[str]
    message: Required[str]
    #: the last frame of learner code it passed through ("activations.py, line 12, in sigmoid"), and its line
    where: str
    line: str
    #: raised outside the learner's code (while the grader called the function or read what it returned)
    outside: bool


class EncodedValue(TypedDict, total=False):
    """A value the learner's function returned, as plain data (grader.encode.encode_value)."""

    #: tensor, bool, number, str, none, sequence, dict or other
    kind: Required[str]
    #: the class's name (a tensor subclass's module and qualified name)
    type: str
    #: the value itself: a plain CPU tensor (absent for a tensor on meta), a bool, a float or a str
    value: Any
    #: a tensor's device, dtype, shape and autograd state, read from the tensor itself
    device: str
    dtype: str
    shape: list[int]
    requires_grad: bool
    has_grad_fn: bool
    #: a sequence's or dict's items, encoded alike
    items: Any


class FillRecord(TypedDict, total=False):
    """One call of an initialiser on a fresh tensor (grader.probes.init.fill), or what it raised."""

    #: it returned the tensor it was given
    same_object: bool
    #: the tensor's values after the call (a strided sample where the call asks for one)
    filled: Any
    #: what it returned, where that is not the tensor it was given
    output: EncodedValue
    error: RecordedError
    #: the names of the exception's classes, most derived first
    raised: list[str]


def runs_on_cuda(call: Call) -> bool:
    """Whether the child runs this call on the GPU: its case's tensors there, or the probe told to move them."""
    options = call.get("options") or {}
    return call.get("device") == "cuda" or options.get("device") == "cuda"


def strided(t: Any) -> Any:
    """The same numbers, not contiguous in memory, for float tensors of two elements or more (others as
    they are). Where the last two dimensions both exceed 1: their transpose made contiguous and
    transposed back (dense, so a clone keeps the strides); else every other element along the last
    dimension of a tensor twice as wide. The child calls it on the tensors the grader sent (the wire
    sends contiguous ones)."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.numel() < 2:
        return t
    if _transposable(t):
        return t.transpose(-1, -2).contiguous().transpose(-1, -2)
    wide = t.new_zeros(*t.shape[:-1], 2 * t.shape[-1])
    wide[..., ::2] = t
    view = wide[..., ::2]
    return view if not view.is_contiguous() else t


def layout_of(t: Any) -> str | None:
    """How feedback names the view `strided` makes of t; None where it hands t over as it is."""
    if strided(t) is t:
        return None
    if _transposable(t):
        return "non-contiguous: stored transposed, as y.mT.contiguous().mT is"
    return "non-contiguous: every other element of a wider tensor, as y[..., ::2] is"


def _transposable(t: torch.Tensor) -> bool:
    return t.dim() >= 2 and t.shape[-1] > 1 and t.shape[-2] > 1


def arguments(call: Call) -> list[Any]:
    """The call's positional arguments as the function is to see them: strided where the case is."""
    return [strided(a) for a in call["args"]] if call.get("strided") else list(call["args"])
