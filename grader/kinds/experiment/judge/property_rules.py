"""The properties vocabulary: each rule reads plain numbers and says, for a student, what does not hold.

A rule gets the learner's record and the reference's record of the same call (see
probes/experiment.py) and returns None when the property holds, else a message. The same rules run
on the reference's own record when the check is prepared, so a threshold the reference itself
misses is a teacher's error, not a student's failure. No code from YAML is ever run: a property is
one of these names with numbers.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from grader.checks.compare import describe_record, told_apart

from ..model import CloseToReference, Property, RatioProperty

Numbers = list[float]


def numbers_of(record: dict[str, Any]) -> tuple[Numbers | None, str | None]:
    """A returned list, tuple or 1-D tensor of numbers → floats; else why not, for a student."""
    if "error" in record:
        error = record["error"]
        return None, f"it raised {error['type']}: {error['message']}"
    if record.get("kind") == "tensor" and "value" in record and len(record["shape"]) == 1:
        return [float(v) for v in record["value"].to(torch.float64).tolist()], None
    if record.get("kind") == "sequence":
        out: Numbers = []
        for item in record["items"]:
            if item.get("kind") == "number":
                out.append(float(item["value"]))
            elif item.get("kind") == "tensor" and "value" in item and item["value"].numel() == 1:
                out.append(float(item["value"].reshape(()).item()))
            else:
                return None, f"it returned a {record['type']} holding {describe_record(item)}, not only numbers"
        return out, None
    return None, f"it returned {describe_record(record)}, not a list of numbers"


def length_of(prop: Property, kwargs: dict[str, Any], defaults: dict[str, Any]) -> tuple[int, str]:
    """The length length_equals asks for, and how to say where it comes from ("depth=10")."""
    target = prop.length_equals
    if isinstance(target, int):
        return target, str(target)
    value = kwargs.get(target, defaults.get(target))
    return int(value), f"{target}={value}"


def select(numbers: Numbers, selector: str | int) -> tuple[float, str]:
    if selector == "first":
        return numbers[0], "the first"
    if selector == "last":
        return numbers[-1], "the last"
    if selector == "min":
        return min(numbers), "the smallest"
    if selector == "max":
        return max(numbers), "the largest"
    return numbers[int(selector)], f"number {int(selector) % len(numbers) + 1}"


def ordinal(index: int) -> str:
    return f"number {index + 1}"


def check_property(prop: Property, mine: dict[str, Any], reference: dict[str, Any], kwargs: dict[str, Any],
                   defaults: dict[str, Any]) -> str | None:
    """None when `prop` holds for `mine` (the reference's record of the same call beside it)."""
    numbers, problem = numbers_of(mine["output"]) if "output" in mine else numbers_of(mine)
    if numbers is None:
        return f"Your function returned no numbers to check: {problem}."
    ref_numbers, _ = numbers_of(reference["output"]) if "output" in reference else (None, None)
    rule = prop.name
    if rule == "length_equals":
        want, source = length_of(prop, kwargs, defaults)
        if len(numbers) != want:
            return f"Expected {want} numbers ({source}), got {len(numbers)}."
        return None
    if not numbers:
        return "Your function returned an empty list."
    if rule == "all_finite":
        bad = next((i for i, v in enumerate(numbers) if not math.isfinite(v)), None)
        return None if bad is None else f"Every number must be finite, but {ordinal(bad)} is {numbers[bad]}."
    if rule == "all_positive":
        bad = next((i for i, v in enumerate(numbers) if not v > 0), None)
        return None if bad is None else f"Every number must be above 0, but {ordinal(bad)} is {numbers[bad]:g}."
    if rule == "ratio":
        return _ratio(prop.ratio, numbers, ref_numbers)
    if rule == "close_to_reference":
        return _close(prop.close_to_reference, numbers, ref_numbers)
    if rule == "deterministic":
        return _deterministic(numbers, mine.get("again"))
    if rule == "changes_with":
        return _changes(prop.changes_with or {}, numbers, mine.get("changed_by", {}), kwargs, defaults)
    if rule == "distinct_layers":
        return _distinct(mine.get("layers"))
    if rule == "weight_gradient_norms":
        return _measured(numbers, mine.get("measured"))
    raise AssertionError(f"unknown property {rule}")


def _ratio(spec: RatioProperty | None, numbers: Numbers, reference: Numbers | None) -> str | None:
    assert spec is not None
    top, top_name = select(numbers, spec.numerator)
    bottom, bottom_name = select(numbers, spec.denominator)
    what = f"{top_name} / {bottom_name} number"
    if bottom == 0 or not math.isfinite(top / bottom if bottom else math.inf):
        return f"The ratio {what} cannot be computed: {top_name} is {top:g} and {bottom_name} is {bottom:g}."
    ratio = top / bottom
    if spec.within_factor is not None:
        low, high = 1 / spec.within_factor, spec.within_factor
        holds, bound = low <= ratio <= high, f"between 1/{spec.within_factor:g} and {spec.within_factor:g}"
    else:
        holds = (spec.below is None or ratio < spec.below) and (spec.above is None or ratio > spec.above)
        bound = " and ".join(filter(None, [f"above {spec.above:g}" if spec.above is not None else "",
                                           f"below {spec.below:g}" if spec.below is not None else ""]))
    if holds:
        return None
    ref = ""
    if reference:
        ref_top, _ = select(reference, spec.numerator)
        ref_bottom, _ = select(reference, spec.denominator)
        if ref_bottom:
            ref = f" (the reference's run of the same call gives {ref_top / ref_bottom:.3g})"
    return f"The ratio {what} is {ratio:.3g}; it must be {bound}{ref}."


def _close(spec: CloseToReference | None, numbers: Numbers, reference: Numbers | None) -> str | None:
    assert spec is not None and reference is not None
    if len(numbers) != len(reference):
        return f"Expected {len(reference)} numbers, as the reference's run of the same call, got {len(numbers)}."
    bad = [i for i, (g, e) in enumerate(zip(numbers, reference))
           if not (abs(g - e) <= spec.atol + spec.rtol * abs(e))]
    if not bad:
        return None
    i = max(bad, key=lambda k: abs(numbers[k] - reference[k]) / max(abs(reference[k]), 1e-300))
    lines = [f"{len(bad)} of {len(numbers)} numbers differ from the reference's run of the same call; the worst is "
             f"{ordinal(i)}: expected {reference[i]:.6g}, got {numbers[i]:.6g} (allowed: absolute {spec.atol:g} + "
             f"relative {spec.rtol:g} × |expected|)."]
    scales = [g / e for g, e in zip(numbers, reference) if e != 0]
    if scales and all(math.isfinite(s) for s in scales) and max(scales) - min(scales) <= 1e-3 * abs(scales[0]):
        whole = 2 <= round(scales[0]) <= 5 and abs(scales[0] - round(scales[0])) <= 1e-3 * abs(scales[0])  # calls a check makes
        lines.append(f"Every number is {scales[0]:.4g} × the reference's: look for a constant factor, such as a "
                     f"sum where a mean belongs" + (
                         ", or gradients added to those of an earlier call (.grad accumulates until it is zeroed: "
                         "build the network inside the call, or zero its gradients first)." if whole else "."))
    return "\n".join(lines)


def _deterministic(numbers: Numbers, again: dict[str, Any] | None) -> str | None:
    second, problem = numbers_of(again) if again is not None else (None, "it was not called again")
    if second is None:
        return f"Called a second time with the same arguments, {problem}."
    if second == numbers:
        return None
    diff = next((i for i, (a, b) in enumerate(zip(numbers, second)) if a != b), min(len(numbers), len(second)))
    if diff < min(len(numbers), len(second)):
        first_run, second_run = told_apart(numbers[diff], second[diff])
        detail = f"{ordinal(diff)} was {first_run}, then {second_run}"
    else:
        detail = f"{len(numbers)} numbers, then {len(second)}"
    return (f"Called twice with the same arguments, your function returned different numbers ({detail}). "
            f"Draw every random number from the `seed` argument (torch.manual_seed(seed) first).")


def override_key(overrides: dict[str, Any]) -> str:
    """How a changes_with run is found again among a record's `changed` runs."""
    return repr(sorted(overrides.items()))


def _changes(overrides: dict[str, Any], numbers: Numbers, changed: dict[str, dict[str, Any]], kwargs: dict[str, Any],
             defaults: dict[str, Any]) -> str | None:
    record = changed.get(override_key(overrides))
    if record is None:
        return "The grader did not get the second run it asked for."
    other, problem = numbers_of(record)
    change = ", ".join(f"{k}={v!r} instead of {kwargs.get(k, defaults.get(k))!r}" for k, v in overrides.items())
    if other is None:
        return f"Called with {change}, {problem}."
    if not _same_numbers(other, numbers):
        return None
    return f"Called with {change}, your function returned exactly the same numbers: it ignores {', '.join(overrides)}."


def _same_numbers(a: Numbers, b: Numbers) -> bool:
    """The same numbers in the same order, nan where the other has nan (`==` tells nan from itself, so
    two runs that both gave nan would count as different)."""
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def _distinct(layers: list[list[float]] | None) -> str | None:
    if not layers:
        return "No nn.Linear layer ran while your function computed its result; build the network from nn.Linear."
    seen: dict[tuple, int] = {}
    for index, fingerprint in enumerate(layers):
        key = tuple("nan" if math.isnan(v) else v for v in fingerprint)  # nan is not equal to itself
        if key in seen:
            return (f"Layers {seen[key] + 1} and {index + 1} start with exactly the same weights: every layer needs "
                    f"its own random draw. Seed once, before building the network, not before each layer.")
        seen[key] = index
    return None


#: How close a returned number must be to the norm measured on the weight's gradient (float32 norms
#: computed another way, e.g. torch.norm against math.sqrt of a sum of squares, differ in the last bits).
MEASURED_RTOL = 1e-4


def _measured(numbers: Numbers, measured: list[float] | None) -> str | None:
    """The numbers are the gradient norms of the nn.Linear weights the call used, first used first."""
    if not measured:
        return "No nn.Linear layer ran while your function computed its result; build the network from nn.Linear."
    if len(numbers) != len(measured):
        return (f"Your call ran {len(measured)} nn.Linear layers but returned {len(numbers)} numbers: return one "
                f"weight-gradient norm per layer, read from the network after loss.backward().")
    for index, (got, norm) in enumerate(zip(numbers, measured)):
        if not math.isclose(got, norm, rel_tol=MEASURED_RTOL, abs_tol=1e-30):
            return (f"Your {ordinal(index)} is {got:g}, but the gradient of layer {index + 1}'s weight after your "
                    f"call has norm {norm:g}: return the norms measured on the network "
                    f"(linear.weight.grad.norm().item()), first layer first.")
    return None
