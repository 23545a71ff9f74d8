"""Keep `torch._dynamo` (the compiler front end) unloaded in the child until something compiles.

Eager torch marks many of its Python functions "not to be compiled" (`torch._disable_dynamo`): the
meta-device decompositions the device probe runs through, every `TorchDispatchMode`. The first call of
each one imports `torch._dynamo` to ask for `torch._dynamo.disable(fn)`: about 1 s in every fresh
process, which put it on the critical path of `torchgrade check` and of every fork server's warm-up.
Outside `torch.compile` that disabling changes nothing, so until dynamo is really needed a stand-in
answers with the function itself; likewise for `graph_break()`, which every optimizer step calls and
which does nothing outside compilation (a child would otherwise pay the 1 s at its first `step()`).

Anything else asked of the stand-in (a learner's `torch.compile`, `torch.compiler.disable(model)`,
`import torch._dynamo.config`) loads the real package first; from then on every function handed out
here defers to the real `disable`, so compiled code sees what it would see without the stand-in.

The stand-in is installed only where torch is laid out as it expects (a `torch._dynamo` package
beside torch, and `torch._disable_dynamo`, the one caller it answers by itself); otherwise, or with
`TORCHGRADE_NO_LAZY_DYNAMO=1`, torch loads its compiler as it always does (tests/test_child_start.py
grades with and without it: the same verdicts).
"""
from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import types
from typing import Any, Callable

_NAME = "torch._dynamo"
#: Set to 1 for torch's own behaviour: the compiler loaded at the first request, as without torchgrade.
SWITCH = "TORCHGRADE_NO_LAZY_DYNAMO"


class _Deferred(types.ModuleType):
    """Stands in for torch._dynamo in sys.modules; hands everything else to the real package.

    It answers two things itself, both no-ops outside compilation: torch's internal requests to
    disable a plain function (`torch._disable_dynamo`, which passes `wrapping=False`; older torch, 2.4 for
    one, passes nothing of the kind and is recognised by the caller's module, `torch._compile`), and
    `graph_break()` (every optimizer step makes one). Anything else, a learner's
    `torch.compiler.disable(model)` included, loads the real package and gets its answer."""

    def __getattr__(self, name: str) -> Any:  # only for what the stand-in does not have itself
        return getattr(_load_real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_load_real(), name, value)

    def __dir__(self) -> list[str]:
        return dir(_load_real())

    def disable(self, fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None,
                wrapping: bool = True) -> Any:
        options = {"reason": reason, "wrapping": wrapping}
        real = _real_if_loaded()
        # torch's own request: `wrapping=False` in recent torch; in older torch, only its caller tells
        internal = not wrapping or _caller_module() == "torch._compile"
        if real is not None or not internal or not inspect.isfunction(fn):
            return _real_disable(real or _load_real(), fn, recursive, options)
        disabled: list[Callable] = []  # the real disable(fn), made once dynamo has been loaded

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not disabled:
                real_now = _real_if_loaded()
                if real_now is None:
                    return fn(*args, **kwargs)
                disabled.append(_real_disable(real_now, fn, recursive, options))
            return disabled[0](*args, **kwargs)

        return call

    def graph_break(self, msg: str = "") -> None:
        real = _real_if_loaded()
        if real is not None:
            real.graph_break(msg)


def _caller_module() -> str | None:
    """The module of whoever called `disable` (two frames up from here); None when C called it."""
    try:
        return sys._getframe(2).f_globals.get("__name__")
    except ValueError:
        return None


#: The stand-in's options and their defaults: a default the real `disable` does not know is left out.
_DEFAULTS = {"reason": None, "wrapping": True}


def _real_disable(real: types.ModuleType, fn: Callable | None, recursive: bool, options: dict[str, Any]) -> Any:
    """The real `disable`, without the stand-in's defaults it does not know: older torch (2.4, for one) has
    neither `reason` nor `wrapping`, and a TypeError there failed every optimizer step in a learner's code.
    An option the learner gave goes through, so their own torch's TypeError is theirs here too."""
    try:
        parameters = inspect.signature(real.disable).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    except (TypeError, ValueError):
        parameters, takes_any = {}, True
    given = {name: value for name, value in options.items()
             if takes_any or name in parameters or value is not _DEFAULTS.get(name, value)}
    return real.disable(fn, recursive, **given)


class _Loaded(importlib.abc.Loader):
    """Hands the import system a module the real package has imported already (no second copy)."""

    def __init__(self, module: types.ModuleType):
        self.module = module
        self.spec = getattr(module, "__spec__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        if self.spec is not None and module.__spec__ is not self.spec:
            try:
                module.__spec__ = self.spec  # the import system gave it ours; it keeps its own
            except AttributeError:
                pass


class _SubmoduleFinder(importlib.abc.MetaPathFinder):
    """`import torch._dynamo.x` while the stand-in is installed: load the real package, then x."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not name.startswith(_NAME + "."):
            return None
        _load_real()
        # Out of sys.modules while the import system looks: finding it there, it would take the module's
        # own spec and run its source a second time, and a learner's `torch._dynamo.config.x = ...` would
        # then set a copy that dynamo never reads. Our spec hands back the very module, and puts it back.
        module = sys.modules.pop(name, None)
        if module is None:
            return None  # not imported by the package itself: the usual finders, on the real path
        return importlib.util.spec_from_loader(name, _Loaded(module))


_FINDER = _SubmoduleFinder()


def _real_if_loaded() -> types.ModuleType | None:
    module = sys.modules.get(_NAME)
    if module is None or isinstance(module, _Deferred):
        return None
    if getattr(module.__spec__, "_initializing", False):
        return importlib.import_module(_NAME)  # another thread is importing it: wait, as torch would
    return module


def _load_real() -> types.ModuleType:
    module = sys.modules.get(_NAME)
    if isinstance(module, _Deferred):  # out of sys.modules (the finder stays: it may be the one asking)
        if sys.modules.get(_NAME) is module:  # unless another thread has put the real one there meanwhile
            sys.modules.pop(_NAME, None)
        torch = sys.modules["torch"]
        if torch.__dict__.get("_dynamo") is module:
            torch.__dict__.pop("_dynamo", None)
        from .process_state import torch_loads  # what the compiler changes as it loads is torch's, not the learner's
        return torch_loads(lambda: importlib.import_module(_NAME))
    return importlib.import_module(_NAME)


def defer_dynamo() -> bool:
    """Install the stand-in, unless torch._dynamo is loaded already (then there is nothing to save), the
    switch says not to, or torch is laid out differently. True when it was installed."""
    if _NAME in sys.modules or os.environ.get(SWITCH) == "1":
        return False
    import torch
    spec = importlib.machinery.PathFinder.find_spec(_NAME, torch.__path__)
    if spec is None or spec.submodule_search_locations is None or not callable(getattr(torch, "_disable_dynamo", None)):
        return False  # a torch laid out differently: leave it alone
    stand_in = _Deferred(_NAME)
    stand_in.__dict__.update(__spec__=spec, __path__=list(spec.submodule_search_locations), __file__=spec.origin)
    sys.meta_path.insert(0, _FINDER)
    sys.modules[_NAME] = stand_in
    return True
