"""Turn whatever a function returned or raised into plain data the grader can load safely.

The child encodes the learner's results with it, and grader.recording the reference's: it imports
nothing of grader, so both sides may use it.
"""
from __future__ import annotations

import errno
import os
import traceback
from typing import Any

import torch


def plain_tensor(t: torch.Tensor) -> torch.Tensor:
    """A detached, CPU, exact torch.Tensor, whatever subclass or device it came as."""
    with torch._C.DisableTorchFunction():
        t = torch.Tensor.detach(t)
        if t.device.type != "cpu":
            t = torch.Tensor.cpu(t)
        t = torch.Tensor.clone(t)
    return t.as_subclass(torch.Tensor)


def encode_value(value: Any, depth: int = 0) -> dict[str, Any]:
    if isinstance(value, torch.Tensor):
        # Read from the tensor itself, not from what a subclass says of itself (a `dtype` property).
        base = torch._C.TensorBase
        kind = type(value)
        record = {
            "kind": "tensor", "type": kind.__name__ if kind in (torch.Tensor, torch.nn.Parameter)
            else f"{kind.__module__}.{kind.__qualname__}",
            "device": str(base.device.__get__(value)), "dtype": str(base.dtype.__get__(value)).removeprefix("torch."),
            "shape": list(base.shape.__get__(value)), "requires_grad": bool(base.requires_grad.__get__(value)),
            "has_grad_fn": base.grad_fn.__get__(value) is not None,
        }
        if value.device.type != "meta":
            record["value"] = plain_tensor(value)
        return record
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, (int, float)):
        return {"kind": "number", "value": float(value), "type": type(value).__name__}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:10_000]}
    if value is None:
        return {"kind": "none"}
    if isinstance(value, (list, tuple)) and depth < 3:
        return {"kind": "sequence", "type": type(value).__name__,
                "items": [encode_value(item, depth + 1) for item in list(value)[:1000]]}
    if isinstance(value, dict) and depth < 3:
        return {"kind": "dict", "items": {str(k): encode_value(v, depth + 1) for k, v in list(value.items())[:1000]}}
    return {"kind": "other", "type": type(value).__name__}


def encode_error(exc: BaseException, submission_dir: str | None = None) -> dict[str, Any]:
    """The exception, and the last line of learner code it passed through; `outside` when it passed
    through none (raised by the grader's own code, or by torch on what the function returned), so it is
    never shown as a line of theirs."""
    where = ""
    line = ""
    outside = True
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        own = [f for f in frames if submission_dir and os.path.abspath(f.filename).startswith(submission_dir)]
        frame = own[-1] if own else None
        outside = not own
        if frame is not None:
            from .cell_places import notebook_frame  # a notebook's module: the cell and line the student sees
            line = (frame.line or "").strip()
            place = notebook_frame(frame.filename, frame.lineno or 0, line)
            if place is not None:
                where, line = place[0] + f", in {frame.name}", place[1]
            else:
                where = f"{os.path.basename(frame.filename)}, line {frame.lineno}, in {frame.name}"
    except BaseException:
        pass
    try:
        from .cell_places import not_run_note  # a name the notebook binds only in a line not run
        message = str(exc) + not_run_note(exc)
    except BaseException:
        message = "<the exception could not be printed>"
    if isinstance(exc, RuntimeError) and message == "can't start new thread":
        message += " (graded code runs on one thread: compute in your function itself, not on a thread)"
    if isinstance(exc, PermissionError) and exc.errno == errno.EPERM and _starts_a_process(exc):
        message += " (a graded function may not start processes: compute in your function itself)"
    return {"type": type(exc).__name__, "message": message[:2000], "where": where, "line": line[:300],
            "outside": outside}


def _starts_a_process(exc: BaseException) -> bool:
    """Whether the exception was raised starting a process (os.fork, subprocess, multiprocessing)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and ("fork" in (frames[-1].line or "") or any(
        os.path.basename(frame.filename) in ("subprocess.py", "popen_fork.py", "popen_spawn_posix.py")
        for frame in frames))
