"""Compare a learner's tensor with the expected one and say what is wrong, for a student.

At least what torch.testing.assert_close says (how many elements differ, the greatest absolute
and relative differences and where, the tolerance), plus the input at the worst element.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..spec.models import HintKey

#: Per-dtype (rtol, atol): torch.testing.assert_close's defaults, but float64's atol. Its 1e-7 absolute let a
#: float64 result computed in float32 pass wherever the values are below 1 (float32 rounds at about 6e-8
#: relative); with 1e-12 the relative 1e-7 decides, which a float32 chain of operations misses and a float64
#: formula, or one constant held in float32 (0.01 as 0.0099999998, 2.2e-8 relative), does not.
DEFAULT_TOLERANCE = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-12),
}


@dataclass(frozen=True)
class Problem:
    message: str
    hint_key: HintKey


def tolerance_for(check: Any, dtype: str) -> tuple[float, float]:
    custom = getattr(check, "tolerance", {}) or {}
    if dtype in custom:
        return custom[dtype].rtol, custom[dtype].atol
    return DEFAULT_TOLERANCE.get(dtype, DEFAULT_TOLERANCE["float64"])


def describe_record(record: dict[str, Any]) -> str:
    if record["kind"] == "tensor":
        return f"a {record['dtype']} tensor of shape {tuple(record['shape'])} on {record['device']}"
    if record["kind"] == "number":
        return f"a Python {record.get('type', 'number')} ({record['value']:g})"
    if record["kind"] == "none":
        return "None (did you forget `return`?)"
    return f"a {record.get('type', record['kind'])}"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def told_apart(a: float, b: float) -> tuple[str, str]:
    """Two numbers with as many digits as it takes to read them differently (a float64 near miss needs 17)."""
    for digits in (6, 10, 17):
        if f"{a:.{digits}g}" != f"{b:.{digits}g}":
            break
    return f"{a:.{digits}g}", f"{b:.{digits}g}"


def _index(flat_index: int, shape: torch.Size) -> str:
    if len(shape) == 0:
        return ""
    coords = []
    for size in reversed(shape):
        coords.append(flat_index % size)
        flat_index //= size
    return "[" + ", ".join(str(c) for c in reversed(coords)) + "]"


def compare_tensor(
    expected: torch.Tensor, record: dict[str, Any], rtol: float, atol: float,
    inputs: dict[str, torch.Tensor] | None = None, expect_device: str = "cpu",
) -> Problem | None:
    """None when the learner's tensor record matches `expected` in type, dtype, shape, device and values."""
    if record["kind"] != "tensor":
        return Problem(f"Expected a tensor, but your function returned {describe_record(record)}.", "not_tensor")
    if record["type"] not in ("Tensor", "Parameter"):
        return Problem(f"Expected a plain torch.Tensor, but your function returned a {record['type']}.", "not_tensor")
    got = record.get("value")
    # The numbers that came back decide dtype and shape, whatever the record says of them.
    got_dtype = str(got.dtype if isinstance(got, torch.Tensor) else record["dtype"]).removeprefix("torch.")
    got_shape = tuple(got.shape if isinstance(got, torch.Tensor) else record["shape"])
    want_dtype = str(expected.dtype).removeprefix("torch.")
    if got_dtype != want_dtype:
        return Problem(
            f"Expected dtype {want_dtype} (the input's), got {got_dtype}. "
            f"Keep the input's dtype: avoid torch.tensor(...) or .float()/.double() on the result.", "dtype")
    if got_shape != tuple(expected.shape):
        return Problem(f"Expected shape {tuple(expected.shape)}, got {got_shape}.", "shape")
    if not record["device"].startswith(expect_device):
        return Problem(f"Expected the result on {expect_device} (the input's device), got it on {record['device']}.", "device")
    if not isinstance(got, torch.Tensor):
        return Problem("Your result's numbers could not be read back.", "not_tensor")
    return compare_values(expected, got, rtol, atol, inputs)


def compare_values(expected: torch.Tensor, got: torch.Tensor, rtol: float, atol: float,
                   inputs: dict[str, torch.Tensor] | None = None) -> Problem | None:
    if expected.numel() == 0:
        return None
    if got.dtype == expected.dtype and torch.equal(got, expected):
        return None  # the same numbers (no nan among them): close under any tolerance; one cheap call
    e = expected.to(torch.float64)
    g = got.to(torch.float64)
    # |got − expected| ≤ atol + rtol × |expected|; nan matches nan only, an infinity the same infinity only
    close = torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if bool(close.all()):
        return None
    bad = ~close
    diff = (g - e).abs()
    count = int(bad.sum())
    total = e.numel()
    non_finite = bad & ~torch.isfinite(g) & torch.isfinite(e)
    hint_key = "nan" if bool(non_finite.any()) else "values"
    lines = [f"{count} of {total} element{'s' if total != 1 else ''} ({100 * count / total:.3g}%) "
             f"differ{'s' if count == 1 and total == 1 else ''} from the expected value{'s' if total != 1 else ''}."]
    story, float32_numbers = _precision_story(expected, e, g, bad)
    if story is not None:
        lines.insert(0, story)
        hint_key = "dtype" if float32_numbers else hint_key
    if hint_key == "nan":
        first = int(non_finite.flatten().nonzero()[0])
        lines.append(f"Your result has nan or inf where the expected value is finite, e.g. at "
                     f"{_index(first, e.shape) or '(scalar)'}: expected {_fmt(float(e.flatten()[first]))}, "
                     f"got {_fmt(float(g.flatten()[first]))}" + _input_at(inputs, expected.shape, first) + ".")
    finite_bad = bad & torch.isfinite(diff)
    if bool(finite_bad.any()):
        zero = torch.zeros_like(diff)
        worst = int(torch.where(finite_bad, diff, zero).flatten().argmax())
        where = _index(worst, e.shape) or "(scalar)"
        want, got_there = told_apart(float(e.flatten()[worst]), float(g.flatten()[worst]))
        lines.append(f"Worst at index {where}: expected {want}, got {got_there}"
                     + _input_at(inputs, expected.shape, worst) + ".")
        relative = _relative(diff, e, finite_bad)
        lines.append(f"Greatest absolute difference {_fmt(float(diff.flatten()[worst]))} at {where}; " + (
            f"{relative} (allowed: absolute {atol:g} + relative {rtol:g} × |expected|)." if relative else
            f"the expected value is 0 wherever yours differs, so only the absolute difference counts "
            f"(allowed: {atol:g})."))
    return Problem("\n".join(lines), hint_key)


def _precision_story(expected: torch.Tensor, e: torch.Tensor, g: torch.Tensor, bad: torch.Tensor) -> tuple[str | None, bool]:
    """What a float64 result that misses by a float32-sized amount says of its cause, and whether every one
    of its numbers is a float32 number (computed in float32, converted at the end). (None, False) where
    the miss is of another size (a clamp, a wrong formula): there the numbers speak for themselves."""
    if expected.dtype != torch.float64:
        return None, False
    finite = torch.isfinite(e) & torch.isfinite(g)
    if not bool((finite | (g == e) | (torch.isnan(g) & torch.isnan(e))).all()):
        return None, False
    rtol32, atol32 = DEFAULT_TOLERANCE["float32"]
    within_float32 = bool(torch.isclose(g, e, rtol=rtol32, atol=atol32, equal_nan=True).all())
    if within_float32 and bool((finite & (g.float().double() == g)).sum() == finite.sum()):
        return FLOAT32_NUMBERS, True
    off = bad & finite
    if bool((off & (e == 0)).any()):
        return None, False
    relative = float(((g - e).abs() / e.abs().where(e != 0, torch.ones_like(e))).where(off, torch.zeros_like(e)).max())
    if relative > 1e-6:
        return None, False
    return (f"Your float64 result is off by at most {relative:.2g} relative: more than float64 rounding, far less "
            f"than a wrong formula. Look for a number held in float32 (torch.tensor(0.01), or torch.where(c, 1.0, "
            f"0.01) with two Python numbers, are float32; a Python number combined with x takes x's dtype) or a "
            f"small constant added on the way (an epsilon)."), False


#: Said of a float64 result every number of which is a float32 number.
FLOAT32_NUMBERS = ("Every number of your float64 result is a float32 number: your function computes in float32 "
                   "and converts at the end (a .float() on the way, or a tensor made without dtype=x.dtype: "
                   "torch.tensor(0.01), torch.ones(n) and torch.where(c, 1.0, 0.01) with two Python numbers are "
                   "all float32). float64 input needs float64 arithmetic at every step; a Python number combined "
                   "with x takes x's dtype.")


def _relative(diff: torch.Tensor, expected: torch.Tensor, bad: torch.Tensor) -> str | None:
    """The greatest relative difference among the failing elements whose expected value is not 0 (relative to
    0 it is not a number: those elements are judged by the absolute difference alone)."""
    nonzero = bad & (expected != 0)
    if not bool(nonzero.any()):
        return None
    rel = torch.where(nonzero, diff / expected.abs().where(nonzero, torch.ones_like(expected)), torch.zeros_like(diff))
    worst = int(rel.flatten().argmax())
    return f"greatest relative difference {_fmt(float(rel.flatten()[worst]))} at {_index(worst, expected.shape) or '(scalar)'}"


def _input_at(inputs: dict[str, torch.Tensor] | None, shape: torch.Size, flat: int) -> str:
    """' for x = -104.2' when an input has the output's shape (element-wise functions)."""
    for name, tensor in (inputs or {}).items():
        if isinstance(tensor, torch.Tensor) and tuple(tensor.shape) == tuple(shape) and tensor.numel():
            return f" for {name}{_index(flat, shape)} = {_fmt(float(tensor.flatten()[flat]))}"
    return ""
