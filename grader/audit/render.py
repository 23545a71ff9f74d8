"""The audit's report: per exercise, which checks kill which mistakes, and what went wrong."""
from __future__ import annotations

from typing import Any

from .runner import Audit, ExerciseAudit


def render_audit(audit: Audit, verbose: bool = False) -> str:
    """Text for a teacher: one block per exercise, then the verdict."""
    blocks = [_exercise_block(e, verbose) for e in audit.exercises
              if verbose or not e.ok or (e.catalogued and (e.silent_checks or not e.outcomes))]
    mistakes = sum(len(e.mistakes) for e in audit.exercises)
    accepted = sum(len(e.accepted) for e in audit.exercises)
    lines = [b for b in blocks if b]
    lines.append(f"Audited {_count(len(audit.exercises), 'exercise')}: {_count(mistakes, 'mistake')}, "
                 f"{_count(accepted, 'accepted variant')}.")
    if audit.survivors:
        lines.append(f"{_count(len(audit.survivors), 'mistake')} {'lose' if len(audit.survivors) > 1 else 'loses'} no points: "
                     + ", ".join(f"{o.exercise}:{o.id}" for o in audit.survivors))
    if audit.broken:
        lines.append(f"{_count(len(audit.broken), 'mistake')} {'do' if len(audit.broken) > 1 else 'does'} not run as "
                     f"written (fix the code, or it proves nothing): " + ", ".join(f"{o.exercise}:{o.id}" for o in audit.broken))
    if audit.refused:
        lines.append(f"{_count(len(audit.refused), 'right implementation')} {'lose' if len(audit.refused) > 1 else 'loses'} points: "
                     + ", ".join(f"{o.exercise}:{o.id}" for o in audit.refused))
    lines.append("Audit passed." if audit.ok else "Audit failed.")
    return "\n\n".join(lines)


def _exercise_block(e: ExerciseAudit, verbose: bool) -> str:
    head = f"{e.exercise}: {_count(len(e.mistakes), 'mistake')}, {len(e.accepted)} accepted"
    lines = [head + ("" if e.ok else "  ✗")]
    if not e.solution.ok:
        lines.append(f"  ✗ the solutions lose points: " + _lost(e.solution.lost))
    for outcome in e.mistakes:
        if outcome.broken is not None:
            lines.append(f"  ✗ mistake {outcome.id} does not run as written: {outcome.broken}")
        elif outcome.ok:
            if verbose:
                lines.append(f"  ✓ mistake {outcome.id}: killed by {', '.join(outcome.lost)}")
        else:
            lines.append(f"  ✗ mistake {outcome.id} loses no points ({outcome.score:g}/{outcome.max_score:g})")
    for outcome in e.accepted:
        if outcome.ok:
            if verbose:
                lines.append(f"  ✓ accepted {outcome.id}: full marks")
        else:
            lines.append(f"  ✗ accepted {outcome.id} loses points ({outcome.score:g}/{outcome.max_score:g}): "
                         + _lost(outcome.lost))
    if verbose and e.catalogued:
        for check in e.checks:
            killed = e.kills(check)
            lines.append(f"    check {check}: kills {', '.join(killed) if killed else 'no mistake'}")
    elif e.silent_checks and e.mistakes:
        lines.append(f"    checks that kill no mistake: {', '.join(e.silent_checks)}")
    if not e.outcomes and e.catalogued:
        lines.append("    no catalogue: add mistakes and accepted variants to its YAML")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _lost(lost: dict[str, str]) -> str:
    return "; ".join(f"{check}: {why}" for check, why in lost.items())


def audit_json(audit: Audit) -> dict[str, Any]:
    """The whole audit as plain data (written by `torchgrade audit --json FILE`)."""
    return {
        "course": audit.course, "ok": audit.ok, "complete": audit.complete,
        "exercises": [{
            "id": e.exercise, "ok": e.ok,
            "solutions": {"score": e.solution.score, "max_score": e.solution.max_score, "lost": e.solution.lost},
            "kills": {check: e.kills(check) for check in e.checks},
            "silent_checks": e.silent_checks,
            "mistakes": [{"id": o.id, "ok": o.ok, "score": o.score, "max_score": o.max_score, "lost": o.lost,
                          "broken": o.broken} for o in e.mistakes],
            "accepted": [{"id": o.id, "ok": o.ok, "score": o.score, "max_score": o.max_score, "lost": o.lost}
                         for o in e.accepted],
        } for e in audit.exercises],
    }


def stamp_summary(audit: Audit) -> dict[str, Any]:
    return {"exercises": len(audit.exercises), "mistakes": sum(len(e.mistakes) for e in audit.exercises),
            "accepted": sum(len(e.accepted) for e in audit.exercises)}
