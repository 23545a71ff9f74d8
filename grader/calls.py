"""The contract between a kind's judge and its probe: what the grader asks the child to run (Call), and
the parts of what comes back that every kind reads the same way (EncodedValue, RecordedError). What
one kind's probe sends back is that kind's record type (grader/kinds/<kind>/record.py).

Both sides import it, so it imports nothing of grader. A judge builds its calls with
grader.checks.base.make_call (or new_call, init_call), never by hand; a probe reads the fields it
needs. Records are untrusted data from the child: a judge reads them defensively whatever they claim.
"""
from __future__ import annotations

from typing import Any, Callable, TypedDict

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
    #: nothing raised: what the function returned could not be sent back (too large, not plain data); the
    #: message says why, in the grader's words
    unsaved: bool


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


#: Set by the child: writes which part of the current call runs now (child._Running.part).
PART_NOTES: list[Callable[[str], None]] = []


def note_part(part: str) -> None:
    """Tell the grader which part of a call runs now: "contiguous" (a strided case's run on contiguous
    copies), "again", "changed:<i>" or "plot:<i>" (an experiment's reruns), so that a stop there names it.
    Does nothing outside a child."""
    for write in PART_NOTES:
        write(part)


def runs_on_cuda(call: Call) -> bool:
    """Whether the child runs this call on the GPU: its case's tensors there, or the probe told to move them."""
    options = call.get("options") or {}
    return call.get("device") == "cuda" or options.get("device") == "cuda"


def strided(t: Any, variant: int = 0) -> Any:
    """The same numbers, not contiguous in memory and with gaps between them, for float tensors of two
    elements or more (others as they are). Where two or more dimensions exceed 1, its dimensions are laid
    out in reverse order (no .view can merge two of them) with a gap after each element of its first long
    dimension (variant 0) or after each row of its last (variant 1); where one dimension exceeds 1, every
    other element of a tensor twice as long. Two inputs of one call get different variants (`variant_of`),
    so code that reads them in memory order finds gaps in different places. The child calls it on the
    tensors the grader sent (the wire sends contiguous ones)."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.numel() < 2:
        return t
    long = [i for i, n in enumerate(t.shape) if n > 1]
    gap = long[-1] if len(long) >= 2 and variant % 2 else long[0]
    wide_shape = [2 * n if i == gap else n for i, n in enumerate(t.shape)]
    if len(long) >= 2:
        reverse = list(range(t.dim() - 1, -1, -1))
        wide = t.new_zeros([wide_shape[i] for i in reverse]).permute(reverse)
    else:
        wide = t.new_zeros(wide_shape)
    every_other = (slice(None),) * gap + (slice(None, None, 2),)
    view = wide[every_other]
    view.copy_(t)
    return view


def variant_of(names: list[str], name: str) -> int:
    """Which layout `strided` gives the argument `name` of a call with these arguments: by the sorted
    names, so the case's label and the child's call agree whatever order each lists them in."""
    return sorted(names).index(name) % 2


def layout_of(t: Any, variant: int = 0) -> str | None:
    """How feedback names the view `strided` makes of t; None where it hands t over as it is."""
    if strided(t, variant) is t:
        return None
    if sum(n > 1 for n in t.shape) >= 2:
        return "non-contiguous: its dimensions in reverse order in memory, with gaps"
    return "non-contiguous: every other element of a longer tensor"


def arguments(call: Call, device: str | None = None) -> list[Any]:
    """The call's positional arguments as the function is to see them: on `device` (else the call's),
    then strided where the case is (moving a view to another device would make it contiguous again)."""
    target = device or call.get("device", "cpu")
    args = [a.to(target) if isinstance(a, torch.Tensor) else a for a in call["args"]]
    if not call.get("strided"):
        return args
    names = list(call.get("arg_names") or [str(i) for i in range(len(args))])
    return [strided(a, variant_of(names, name)) for name, a in zip(names, args)]
