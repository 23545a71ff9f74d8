"""device: the function works on the device of its input.

On a machine with CUDA the cases run on the GPU. Without one they run on a GPU simulated on the
CPU (grader.probes.cuda_model): tensors that say they are on the GPU and hold the CPU's numbers,
whose operators check devices as CUDA's do. A tensor created on the CPU inside the function
(`torch.ones(x.shape)`) fails there as on a GPU, a result brought back to the CPU (`.cpu().numpy()`,
a list, `.item()` then `torch.tensor`) is seen to be on the CPU, and `.item()` or `x[x > 0]` work
as on a GPU; so the verdict, like the maximum score, is the same on every machine. Any error on the
GPU or its model fails the check, since the same call ran on the CPU just before.
"""
from __future__ import annotations

import re
from typing import Any

from grader.cases import build_cases
from grader.spec import Exercise
from grader.spec.checks import CheckBase
from grader.checks.base import CaseVerdict, Context, Prepared, learner_error, make_call, unsaved_words
from grader.checks.compare import describe_record

CASES_PER_CHECK = 3
DEVICE_MISMATCH = re.compile(
    r"(same device|expected device|is not on the expected device|device type|to be on|"
    r"found at least two devices|too many CPU scalars|cpu.*(meta|cuda)|(meta|cuda).*cpu)", re.IGNORECASE)



def is_device_error(error: dict[str, Any]) -> bool:
    text = f"{error['type']}: {error['message']}"
    return bool(DEVICE_MISMATCH.search(text))


def prepare(ctx: Context, exercise: Exercise, check: CheckBase) -> Prepared:
    device = "cuda" if ctx.cuda else "model"
    cases = [c for c in build_cases(ctx.course, exercise, check) if c.device == "cpu"][:CASES_PER_CHECK]
    return Prepared(exercise, check, cases, [make_call(exercise, check, case, "device", device=device) for case in cases])


def judge_case(prepared: Prepared, case, result: dict[str, Any]) -> CaseVerdict:
    device = result.get("device", "model")
    where = "a GPU" if device == "cuda" else "a GPU (simulated on this machine, which has none)"
    if "cpu_error" in result:
        return CaseVerdict(case.id, case.label, False,
                           f"Your function raised {learner_error({'error': result['cpu_error']})}\n"
                           f"It must run on the CPU before it can be checked on {where}.", "error")
    if unsaved_words(result):
        return CaseVerdict(case.id, case.label, False, f"With the input on {where}: {unsaved_words(result)}", "error")
    if "error" in result:
        return CaseVerdict(case.id, case.label, False,
                           f"With the input on {where}, your function raised {learner_error(result)}\n"
                           f"It ran on the CPU, so the device is what went wrong: a tensor made inside your "
                           f"function stays on the CPU. Create new tensors like the input: torch.zeros_like(x), "
                           f"torch.ones_like(x), or pass device=x.device.", "device")
    record = result["output"]
    if record["kind"] != "tensor" or not record["device"].startswith("cuda"):
        return CaseVerdict(case.id, case.label, False,
                           f"With the input on {where}, your function returned {describe_record(record)}; "
                           f"the result must be a tensor on the input's device (no .cpu(), .numpy(), .item() "
                           f"or lists on the way).", "device")
    return CaseVerdict(case.id, case.label, True)
