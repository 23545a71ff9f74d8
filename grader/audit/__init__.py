"""`torchgrade audit`: the course judged against the mistakes students make.

Every exercise's catalogue (`mistakes:` and `accepted:` in its YAML) is graded through the real
grader, one variant per submission, the rest of the module taken from the course's solutions:
every mistake must lose points on at least one check, every accepted variant must get full marks,
and the solutions themselves must. The report says which checks kill which mistakes, and which
checks kill none. A green audit leaves a stamp of the course's files, which
`torchgrade validate --require-audit` asks for.
"""
from __future__ import annotations

from .runner import Audit, AuditError, ExerciseAudit, VariantOutcome, run_audit
from .render import audit_json, render_audit, stamp_summary
from .stamp import STAMP, stamp_problem, write_stamp

__all__ = ["Audit", "AuditError", "ExerciseAudit", "VariantOutcome", "run_audit", "render_audit", "audit_json", "stamp_summary",
           "STAMP", "stamp_problem", "write_stamp"]
