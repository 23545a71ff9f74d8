"""Plain data between the grader and a sandboxed child: dicts, lists, str, numbers, bool, None, CPU tensors.

Both directions use it: the grader writes the child's tasks, the child writes one record per exercise.
The grader must read what a child wrote without trusting it. `torch.load(weights_only=True)` is safe
but builds every tensor in pure Python (a third of a second for a full submission's ~1000 tensors).
Here a tensor travels as (dtype name, shape, raw bytes) inside a pickle, and `load` reads it with an
unpickler that can build builtins and tensors and nothing else (every other class or function is
refused, whatever the bytes say), at the C unpickler's speed.
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


class NotPlainData(pickle.UnpicklingError):
    """What a record held was not plain data (a child that forged its file, or a corrupt one)."""


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
    data = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
    return _tensor, (dtype, tuple(t.shape), data)


class _Writer(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return _reduce_tensor(obj)
        return NotImplemented


class _Reader(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == (__name__, "_tensor"):
            return _tensor
        raise NotPlainData(f"not plain data: {module}.{name}")


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Writer(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """Plain data back; raises NotPlainData (or another pickle error) for anything else."""
    return _Reader(io.BytesIO(data)).load()


def dump(value: Any, path: str | Path) -> None:
    Path(path).write_bytes(dumps(value))


def load(path: str | Path) -> Any:
    return loads(Path(path).read_bytes())
