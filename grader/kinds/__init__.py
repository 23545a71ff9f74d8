"""The check kinds: one folder each, and this registry of them, which the spec, the plan, the child and
the docs read. Adding a kind is adding a folder here; no table of kinds exists anywhere else.

A kind's folder, grader/kinds/<kind>/, holds:

- `model.py`: the check as a teacher writes it in YAML, one pydantic model (a subclass of
  grader.spec.checks.CheckBase, or InitCheckBase for initialiser kinds) whose `kind` is
  `Literal["<kind>"]`. Its class variables say what the rest of the grader must know of the kind
  (needs_reference, needs_cases, kink_cases, default_dtypes, secret_fields, judges_values,
  answered_in), and its `course_errors` what only the whole exercise shows.
- `judge.py` (or a `judge/` package): `prepare(ctx, exercise, check) -> Prepared`, which builds the
  cases, the calls for the child (grader.checks.base.make_call) and the expected values, and
  `judge_case(prepared, case, record) -> CaseVerdict`; `DRAWS_PICTURES = True` where its feedback
  draws with matplotlib; `mistake_output` and `matches_mistake` where a failing case can be matched
  with a catalogued mistake's outputs (grader.checks.mistakes).
- `probe.py` (or a `probe/` package), where the kind runs something of its own in the child:
  `PROBES = {name: function}`, each function taking the learner's function and a Call and returning
  plain data, and `RECORDS = {name: record type}`. The names are the `probe` its calls ask for; a kind
  may also ask for another kind's probe (derivative calls the function as values does). A
  `warm(backward)` there runs once in the fork server, so that children start with what the probes
  load already loaded. Two sets there tell the child how to run a probe: `RUN_LAST`, probes that
  report on every call of the exercise (the others run first, all under the operator recorder), and
  `BACKWARD`, probes that back-propagate (the fork server warms them only where that starts no GPU).
- `record.py`: the TypedDict of what its probe sends back, the keys its judge may read; both sides
  import it.

The two sides never import each other: judge and model are the grader's side, probe and record the
child's (.importlinter holds both to it). This module imports neither side until asked, so the child,
which reads only `probes()`, never loads pydantic or the course's models.
"""
from __future__ import annotations

import importlib
import typing
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ..calls import Call

FOLDER = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def names() -> tuple[str, ...]:
    """Every kind there is: the folders here holding a model, in alphabetical order."""
    return tuple(sorted(entry.name for entry in FOLDER.iterdir()
                        if entry.is_dir() and (entry / "model.py").is_file() and entry.name.isidentifier()))


def _part(kind: str, part: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{kind}.{part}")


@lru_cache(maxsize=None)
def models() -> dict[str, type]:
    """Kind → its YAML model, the class in its model.py whose `kind` is Literal[kind]."""
    found: dict[str, type] = {}
    for kind in names():
        module = _part(kind, "model")
        matching = [value for value in vars(module).values()
                    if isinstance(value, type) and value.__module__ == module.__name__
                    and "kind" in getattr(value, "model_fields", {})]
        if len(matching) != 1:
            raise TypeError(f"{module.__name__} must define one check model (a class with a `kind` field); "
                            f"found {len(matching)}")
        model = matching[0]
        if typing.get_args(model.model_fields["kind"].annotation) != (kind,):  # type: ignore[attr-defined]
            raise TypeError(f"{model.__qualname__}.kind must be Literal[{kind!r}], the name of its folder")
        found[kind] = model
    return found


def judge(kind: str) -> ModuleType:
    """The kind's judging side: prepare and judge_case."""
    if kind not in names():
        raise KeyError(kind)
    return _part(kind, "judge")


def _probe_modules() -> list[ModuleType]:
    return [_part(kind, "probe") for kind in names()
            if (FOLDER / kind / "probe.py").is_file() or (FOLDER / kind / "probe" / "__init__.py").is_file()]


def probe_warmers() -> list[Callable[[bool], None]]:
    """Each probe module's `warm(backward)`, for the fork server to run before any child starts."""
    return [module.warm for module in _probe_modules() if hasattr(module, "warm")]


@lru_cache(maxsize=None)
def probes_marked(name: str) -> frozenset[str]:
    """The probes some probe module lists in its set `name` (RUN_LAST, BACKWARD)."""
    return frozenset(probe for module in _probe_modules() for probe in getattr(module, name, ()))


@lru_cache(maxsize=None)
def probes() -> dict[str, Callable[[Callable, Call], dict[str, Any]]]:
    """Probe name → function, gathered from every kind's probe module: what the child can run."""
    found: dict[str, Callable[[Callable, Call], dict[str, Any]]] = {}
    owner: dict[str, str] = {}
    for module in _probe_modules():
        kind = module.__name__.split(".")[2]
        for name, probe in module.PROBES.items():
            if name in found:
                raise TypeError(f"probe '{name}' is registered by both {owner[name]} and {kind}")
            found[name], owner[name] = probe, kind
    return found
