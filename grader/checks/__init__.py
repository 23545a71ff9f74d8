"""What every check kind's judging side shares; the kinds themselves are grader/kinds/<kind>/.

A kind's judge has `prepare(ctx, exercise, check) -> Prepared` and
`judge_case(prepared, case, record) -> CaseVerdict` (grader.checks.base), built from the shared
helpers here: calls for the child (base.make_call), expected values (expected), comparing tensors
(compare), pictures (drawing), the initialiser kinds' cases (init_cases), catalogued mistakes (mistakes).
"""
from __future__ import annotations

from .base import CaseVerdict, Context, Prepared, SpecProblem

__all__ = ["CaseVerdict", "Context", "Prepared", "SpecProblem"]
