"""The learner's function against the signature its statement names, checked before any call.

Runs in the child; returns plain data. A function whose parameters are named or ordered otherwise
would be called with its arguments in the wrong places (`cross_entropy(target, logits)`), or fail
with a TypeError that points into the grader; it is reported as one sentence instead.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from ..python_source import parse as parse_python


def expected_parameters(signature: str) -> list[tuple[str, bool]]:
    """[(name, has a default)] of `name(a, b=1)`, in order."""
    func = parse_python(f"def {signature}:\n    pass\n").body[0]
    args = func.args  # type: ignore[attr-defined]
    positional = args.posonlyargs + args.args
    defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    named = [(a.arg, d) for a, d in zip(positional, defaults)]
    named += [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return named


def signature_problem(fn: Callable, signature: str) -> dict[str, Any] | None:
    """None when fn takes the statement's parameters (same names, same order, defaults where the
    statement has them, nothing else without a default); else what the student wrote."""
    try:
        mine = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a builtin or a callable object torch cannot describe: judged by its calls
    params = list(mine.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None  # *args / **kwargs take whatever the grader passes
    wanted = expected_parameters(signature)
    names = [p.name for p in params]
    problem = None
    for index, (name, has_default) in enumerate(wanted):
        if index >= len(params) or params[index].name != name:
            problem = "missing" if name not in names else "order"
            break
        if has_default and params[index].default is inspect.Parameter.empty:
            problem = "default"
            break
    extra = [p.name for p in params[len(wanted):] if p.default is inspect.Parameter.empty]
    if problem is None and extra:
        problem = "extra"
    if problem is None:
        return None
    try:
        yours = f"{getattr(fn, '__name__', 'function')}{mine}"
    except Exception:
        yours = f"{getattr(fn, '__name__', 'function')}({', '.join(names)})"
    return {"status": "signature", "yours": yours[:300], "problem": problem}
