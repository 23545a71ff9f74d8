"""Plain data between the grader and a sandboxed child: dicts, lists, str, numbers, bool, None, CPU tensors.

Both directions use it: the grader writes the child's tasks, the child writes one record per exercise.
The grader must read what a child wrote without trusting it. `torch.load(weights_only=True)` is safe
but builds every tensor in pure Python (a third of a second for a full submission's ~1000 tensors).
Here a tensor travels as (dtype name, shape, raw bytes) inside a pickle, and `load` reads it with an
unpickler that can build builtins and tensors and nothing else (every other class or function is
refused, whatever the bytes say), at the C unpickler's speed. What it built is then checked to be a
tree of plain data (see _check_plain), so a crafted file is refused, not trusted.
"""
from __future__ import annotations

import io
import math
import pickle
from pathlib import Path
from typing import Any

import torch

SUFFIX = ".data"
DTYPES = {name: getattr(torch, name) for name in (
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool")}
MAX_DIMS = 16
#: Every item counts, scalars too. A full submission's records unfold to ~30 000 items in all, nested ~10
#: deep; a learner's function that returns 300×300 Python lists for 8 cases makes one record of ~6 M
#: (checked in about 1 s). A crafted file that unfolds to billions is refused within this many.
MAX_NODES = 10_000_000
MAX_DEPTH = 64

#: The pickle protocol records are written with, bound when the module loads: a learner's code that lowers
#: pickle.HIGHEST_PROTOCOL changes nothing the grader writes.
PROTOCOL = pickle.HIGHEST_PROTOCOL


class NotPlainData(pickle.UnpicklingError):
    """What a record held was not plain data (a child that forged its file, or a corrupt one)."""


#: What the grader may hold of one submission's records, unpickled, as estimated before unpickling: the
#: grader unpickles in its own process, and a pickle unfolds to many times its size (one byte,
#: EMPTY_DICT, is a 64-byte dict; a 50 MB file of them, 3 GB). A full submission's records hold a few
#: MB; 300 × 300 Python floats for each of 8 cases, 25 MB.
MAX_COST = 384 * 1024 * 1024


class TooLarge(NotPlainData):
    """The records of one submission would take more of the grader's memory than MAX_COST."""


class Budget:
    """The memory records may still cost the grader (see estimated_cost): one per learner module of a submission
    (execute.read_records)."""

    def __init__(self, total: int | None = None):
        self.total = MAX_COST if total is None else total
        self.left = self.total

    def charge(self, cost: int) -> None:
        """Take `cost` off what is left (a refused record's too: its reading cost time, and the next is refused
        at once); raises NotPlainData once nothing is left."""
        self.left -= cost
        if self.left < 0:
            raise TooLarge(f"the records would take more than {self.total / 2**20:.0f} MB of the grader's memory")


# Opcodes of plain data (what _Writer writes) → (bytes of argument, or -n: an n-byte little-endian length
# followed by that many bytes), cost in bytes (an upper estimate of what unpickling it holds: the object,
# its slot in a container or the stack, a dict's entry), and the cost of each byte of a length-given argument.
# Every opcode costs at least 8, so reading the opcodes of one submission's records stops within
# MAX_COST / 8 opcodes (about 7 s), whatever they are.
_OPS: dict[int, tuple[int, int, int]] = {op[0]: spec for op, spec in {
    pickle.PROTO: (1, 8, 0), pickle.FRAME: (8, 8, 0), pickle.STOP: (0, 8, 0), pickle.MARK: (0, 8, 0),
    pickle.EMPTY_DICT: (0, 240, 0), pickle.EMPTY_LIST: (0, 72, 0), pickle.EMPTY_TUPLE: (0, 8, 0),
    pickle.TUPLE: (0, 72, 0), pickle.TUPLE1: (0, 72, 0), pickle.TUPLE2: (0, 72, 0), pickle.TUPLE3: (0, 72, 0),
    pickle.APPEND: (0, 8, 0), pickle.APPENDS: (0, 8, 0), pickle.SETITEM: (0, 64, 0), pickle.SETITEMS: (0, 64, 0),
    pickle.NONE: (0, 16, 0), pickle.NEWTRUE: (0, 16, 0), pickle.NEWFALSE: (0, 16, 0),
    pickle.BININT: (4, 40, 0), pickle.BININT1: (1, 40, 0), pickle.BININT2: (2, 40, 0), pickle.BINFLOAT: (8, 40, 0),
    pickle.LONG1: (-1, 48, 1), pickle.LONG4: (-4, 48, 1),
    pickle.SHORT_BINUNICODE: (-1, 80, 4), pickle.BINUNICODE: (-4, 80, 4), pickle.BINUNICODE8: (-8, 80, 4),
    pickle.SHORT_BINBYTES: (-1, 64, 2), pickle.BINBYTES: (-4, 64, 2), pickle.BINBYTES8: (-8, 64, 2),
    pickle.MEMOIZE: (0, 16, 0), pickle.BINGET: (1, 16, 0), pickle.LONG_BINGET: (4, 16, 0),
    pickle.BINPUT: (1, 16, 0), pickle.LONG_BINPUT: (4, 16, 0),
    pickle.STACK_GLOBAL: (0, 8, 0), pickle.REDUCE: (0, 256, 0),
}.items()}


def estimated_cost(data: bytes, limit: int) -> int:
    """What unpickling `data` would hold in memory, estimated from above by reading its opcodes (no object
    is built), the bytes themselves included; stops counting past `limit`. Raises NotPlainData for an
    opcode plain data never needs (sets, class instances, persistent ids, out-of-band buffers …)."""
    ops = _OPS
    end = len(data)
    at = 0
    cost = end
    while at < end and cost <= limit:
        spec = ops.get(data[at])
        if spec is None:
            raise NotPlainData(f"not plain data: pickle opcode {data[at]:#04x}")
        size, each, per_byte = spec
        at += 1
        if size >= 0:
            at += size
            cost += each
        else:
            length = int.from_bytes(data[at:at - size], "little")
            at += length - size
            cost += each + per_byte * length
    return cost


def _tensor(dtype: Any, shape: Any, data: Any) -> torch.Tensor:
    """Rebuild a tensor, checking everything: these three values come from an untrusted file."""
    if not (isinstance(dtype, str) and dtype in DTYPES):
        raise NotPlainData(f"not a tensor dtype: {dtype!r}")
    if not (isinstance(shape, tuple) and len(shape) <= MAX_DIMS
            and all(type(n) is int and n >= 0 for n in shape)):
        raise NotPlainData("not a tensor shape")
    if not isinstance(data, bytes):
        raise NotPlainData("tensor data is not bytes")
    kind = DTYPES[dtype]
    count = math.prod(shape)
    if count * torch.empty((), dtype=kind).element_size() != len(data):
        raise NotPlainData("tensor data does not match its shape")
    if count == 0:
        return torch.empty(shape, dtype=kind)
    return torch.frombuffer(bytearray(data), dtype=kind).reshape(shape)


def _reduce_tensor(t: torch.Tensor) -> tuple:
    with torch._C.DisableTorchFunction():
        t = torch.Tensor.detach(t).cpu().resolve_conj().resolve_neg().contiguous()
    dtype = str(t.dtype).removeprefix("torch.")
    if dtype not in DTYPES:
        raise TypeError(f"a {dtype} tensor cannot be sent")
    flat = t.reshape(-1)
    if flat.numel() and flat.stride(0) != 1:  # one element of stride 0 (an expand) counts as contiguous
        flat = flat.clone(memory_format=torch.contiguous_format)
    data = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
    return _tensor, (dtype, tuple(t.shape), data)


class _Writer(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return _reduce_tensor(obj)
        return NotImplemented


class _Reader(pickle.Unpickler):
    """Builds builtins and tensors only, and tensors of no more bytes than the file holds (a pickle can
    hand one bytes object to any number of tensors: without a budget, 1 MB could ask for 20 GB)."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self._budget = len(data)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (__name__, "_tensor"):
            return self._tensor
        raise NotPlainData(f"not plain data: {module}.{name}")

    def _tensor(self, dtype: Any, shape: Any, data: Any) -> torch.Tensor:
        self._budget -= len(data) if isinstance(data, bytes) else 0
        if self._budget < 0:
            raise NotPlainData("the tensors hold more bytes than the file")
        return _tensor(dtype, shape, data)


_SCALARS = frozenset({str, bytes, int, float, bool, type(None)})


def _check_plain(value: Any, limit: int = MAX_NODES) -> None:
    """Plain data, walked level by level as the tree it unfolds to. Every item counts, scalars too, and a
    container met twice is walked twice: shared or cyclic containers (a 240 kB pickle can unfold to
    billions of items) run into the limit before they are walked. Only exact builtin types pass, and
    tensors only as _tensor built them (a pickle's BUILD could have called their __setstate__)."""
    level = [value]
    depth = 0
    while level:
        below: list = []
        for item in level:
            kind = type(item)
            if kind in _SCALARS:
                continue
            if depth > MAX_DEPTH:
                raise NotPlainData("the data is nested too deeply")
            if kind is torch.Tensor:
                _check_tensor(item)
                continue
            if kind is dict:
                below += item.keys()
                below += item.values()
            elif kind is list or kind is tuple:
                below += item
            else:
                raise NotPlainData(f"not plain data: {kind.__name__}")
            if len(below) > limit:
                raise NotPlainData("the data unfolds to too many items")
        limit -= len(below)
        level = below
        depth += 1


def _check_tensor(item: torch.Tensor) -> None:
    if (item.requires_grad or item._backward_hooks or not item.is_leaf or not item.is_contiguous()
            or item.storage_offset() != 0 or item.untyped_storage().nbytes() != item.numel() * item.element_size()):
        raise NotPlainData("a tensor was changed after it was built")


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Writer(buffer, protocol=PROTOCOL).dump(value)
    return buffer.getvalue()


def loads(data: bytes, *, from_the_grader: bool = False, budget: Budget | None = None) -> Any:
    """Plain data back; raises NotPlainData (or another pickle error, or any error of a malformed file).

    `budget`: what the records of one submission may still cost, charged before unpickling (a fresh
    MAX_COST when none is given). `from_the_grader`: the child reading the grader's own tasks (which
    share containers), not the grader reading what a child wrote; only classes are refused then."""
    if not from_the_grader:
        budget = budget if budget is not None else Budget()
        budget.charge(estimated_cost(data, budget.left))
    value = _Reader(data).load()
    if not from_the_grader:
        _check_plain(value)
    return value


def dump(value: Any, path: str | Path) -> None:
    Path(path).write_bytes(dumps(value))


def load(path: str | Path, *, from_the_grader: bool = False) -> Any:
    return loads(Path(path).read_bytes(), from_the_grader=from_the_grader)
