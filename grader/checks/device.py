"""device: the function works on the device of its input.

On a machine with CUDA the cases run on the GPU. Without one they run on the `meta` device,
where a tensor created on the CPU inside the function (`torch.ones(x.shape)`) fails exactly as
it would on a GPU; so the check, and the maximum score, are the same on every machine.
Errors that only say meta tensors have no data (`.item()`, data-dependent shapes, a missing
meta kernel) prove nothing about devices, and count as passed.
"""
from __future__ import annotations

import re
from typing import Any

from ..cases import build_cases
from ..spec import Exercise
from ..spec.checks import CheckBase
from .base import CaseVerdict, Context, Prepared, learner_error, make_call
from .compare import describe_record

CASES_PER_CHECK = 3
DEVICE_MISMATCH = re.compile(
    r"(same device|expected device|is not on the expected device|device type|to be on|"
    r"found at least two devices|too many CPU scalars|cpu.*(meta|cuda)|(meta|cuda).*cpu)", re.IGNORECASE)


#: What torch says when asked for a generator on the meta device: it is no accelerator. The code that
#: asked (`torch.Generator(device=tensor.device)`) is right, and works on a GPU.
META_HAS_NO_GENERATOR = re.compile(r"META device type not an accelerator|device type META is not supported",
                                   re.IGNORECASE)


def is_device_error(error: dict[str, Any]) -> bool:
    text = f"{error['type']}: {error['message']}"
    return bool(DEVICE_MISMATCH.search(text)) and not META_HAS_NO_GENERATOR.search(text)


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    device = "cuda" if ctx.cuda else "meta"
    cases = [c for c in build_cases(ctx.course, exercise, check) if c.device == "cpu"][:CASES_PER_CHECK]
    return Prepared(exercise, check, cases, [make_call(exercise, check, case, "device", device=device) for case in cases])


def judge_case(prepared: Prepared, case, result: dict[str, Any]) -> CaseVerdict:
    device = result.get("device", "meta")
    where = "a GPU" if device == "cuda" else "a GPU (checked on PyTorch's meta device, which behaves like one here)"
    if "cpu_error" in result:
        return CaseVerdict(case.id, case.label, False,
                           f"Your function raised {learner_error({'error': result['cpu_error']})}\n"
                           f"It must run on the CPU before it can be checked on {where}.", "error")
    if "error" in result:
        error = result["error"]
        if is_device_error(error) or device == "cuda":
            return CaseVerdict(case.id, case.label, False,
                               f"With the input on {where}, your function raised {learner_error(result)}\n"
                               f"A tensor made inside your function stays on the CPU. Create new tensors like "
                               f"the input: torch.zeros_like(x), torch.ones_like(x), or pass device=x.device.",
                               "device")
        return CaseVerdict(case.id, case.label, True,
                           f"Not checkable on the meta device ({error['type']}); counted as passed.")
    record = result["output"]
    if record["kind"] != "tensor" or not record["device"].startswith(device):
        return CaseVerdict(case.id, case.label, False,
                           f"With the input on {where}, your function returned {describe_record(record)}; "
                           f"the result must be on the input's device.", "device")
    return CaseVerdict(case.id, case.label, True)
