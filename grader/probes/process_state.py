"""What a learner's call leaves changed for the whole process, noticed so that the learner is told.

Each learner module is graded in a child of its own, and each of its exercises in a copy of that child
forked once the module is imported (grader.child.in_a_copy), so whatever a call changes — torch's
settings, its functions, the module's own lists, dicts and tensors — ends with the copy and reaches no
other exercise. The child notes the process's state once the module is imported and each copy compares its
settings after its exercise (`settings_changed`): where they differ, the exercise's record says what
changed, so that the learner hears that a program calling the function would be affected (feedback, never
a point). Where no copy can be made (a CUDA context cannot be forked), the exercise runs in the child
itself and everything is compared (`changes`: the libraries' attributes, the learner's module's globals,
functions' code, defaults and closure cells too): a difference ends the child, and the grader grades the
module's remaining exercises in a fresh child, where only the import has run.

Only getters that import nothing are used: a confined child may not be able to read torch's files.
"""
from __future__ import annotations

import builtins
import os
import signal
import sys
import tempfile
import threading
import warnings
import weakref
from types import FunctionType, ModuleType
from typing import Any, Callable

import torch

#: Modules whose public attributes a call may replace for every later caller (compared by identity, then
#: equality), the functions among them by their code too.
WATCHED_MODULES = (
    "torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.autograd", "torch.autograd.graph",
    "torch.autograd.forward_ad", "torch.autograd.function", "torch.func", "torch.linalg", "torch.special",
    "torch.library", "torch.overrides", "torch.nn.modules.module", "torch.utils.hooks",
    "math", "builtins", "operator", "functools", "copy", "os", "os.path", "tempfile", "pickle", "io", "random",
    "numpy", "numpy.linalg", "matplotlib", "matplotlib.pyplot", "matplotlib.figure", "matplotlib.axes",
    "matplotlib.backend_bases", "matplotlib.backends.backend_agg", "matplotlib.patches", "matplotlib.lines",
    "matplotlib.collections", "matplotlib.text", "matplotlib.transforms", "matplotlib.image")
#: Classes whose attributes are watched, added ones included (an attribute set on a subclass shadows the
#: method it inherits): torch's tensor, the nn modules and autograd functions, matplotlib's figures and artists.
WATCHED_CLASSES = {
    "torch": ("Tensor",), "torch._C": ("TensorBase",), "torch.nn.parameter": ("Parameter",),
    "torch.nn.modules.module": ("Module",), "torch.nn.modules.linear": ("Linear",),
    "torch.nn.modules.activation": ("ReLU", "LeakyReLU", "PReLU", "Sigmoid", "Tanh", "Softmax"),
    "torch.nn.modules.container": ("Sequential",), "torch.autograd.function": ("Function",),
    "matplotlib.figure": ("Figure", "FigureBase"), "matplotlib.axes._axes": ("Axes",),
    "matplotlib.axes._base": ("_AxesBase",), "matplotlib.backend_bases": ("FigureCanvasBase",),
    "matplotlib.backends.backend_agg": ("FigureCanvasAgg", "RendererAgg"), "matplotlib.artist": ("Artist",),
    "matplotlib.patches": ("Patch", "Rectangle"), "matplotlib.lines": ("Line2D",),
    "matplotlib.collections": ("Collection", "PathCollection", "PolyCollection"), "matplotlib.text": ("Text",),
    "matplotlib.axis": ("Axis", "XAxis", "YAxis", "Tick"), "matplotlib.image": ("AxesImage",),
}
#: Attributes torch rebinds itself when a setting below changes (torch.Storage follows the default dtype).
FOLLOWS_A_SETTING = frozenset({"torch.Storage"})
_MISSING = object()


def _saved_tensors_hooks() -> Any:
    try:
        return torch._C._autograd._top_saved_tensors_default_hooks(False)
    except Exception:
        return None


def _autocast() -> tuple[bool, ...]:
    states = []
    for device in ("cpu", "cuda"):
        try:
            states.append(torch.is_autocast_enabled(device))
        except Exception:
            states.append(False)
    return tuple(states)


def _timers() -> tuple[bool, ...]:
    """Whether an interval timer is armed: a signal.alarm set in one call would end a later one."""
    return tuple(signal.getitimer(which)[0] > 0 for which in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL,
                                                                signal.ITIMER_PROF))


def _loaded(name: str, attribute: str, default: Any = None) -> Any:
    """An attribute of a module if that module is loaded (never importing it)."""
    module = sys.modules.get(name)
    return default if module is None else getattr(module, attribute, default)


def _numpy_errors() -> Any:
    geterr = _loaded("numpy", "geterr")
    return None if geterr is None else tuple(sorted(geterr().items()))


def _rc_params() -> dict[str, Any] | None:
    params = _loaded("matplotlib", "rcParams")
    return None if params is None else dict.copy(params)


def _global_module_hooks() -> tuple[int, ...]:
    module = sys.modules.get("torch.nn.modules.module")
    if module is None:
        return ()
    return tuple(len(value) for name, value in sorted(vars(module).items())
                 if name.startswith("_global_") and isinstance(value, dict))


def _library_registrations() -> tuple[int, int]:
    return len(_loaded("torch.library", "_impls", ())), len(_loaded("torch.library", "_defs", ()))


def _functorch_level() -> Any:
    return torch._C._functorch.maybe_current_level()


#: What is compared after each exercise: a name (which the grader words for the learner) and how to read it.
SETTINGS: dict[str, Callable[[], Any]] = {
    "grad_mode": torch.is_grad_enabled,
    "inference_mode": torch.is_inference_mode_enabled,
    "default_dtype": torch.get_default_dtype,
    # torch.set_default_device and `with torch.device(...)` push onto this stack, as do function modes
    "function_modes": torch._C._len_torch_function_stack,
    "torch_function": torch._C._is_torch_function_enabled,
    "dispatch_modes": torch._C._len_torch_dispatch_stack,
    "dispatch_keys": lambda: (repr(torch._C._dispatch_tls_local_include_set()),
                              repr(torch._C._dispatch_tls_local_exclude_set())),
    "saved_tensors_hooks": _saved_tensors_hooks,
    "dual_level": lambda: _loaded("torch.autograd.forward_ad", "_current_level"),
    "functorch_level": _functorch_level,
    "module_hooks": _global_module_hooks,
    "library": _library_registrations,
    "autocast": _autocast,
    "deterministic": lambda: (torch.are_deterministic_algorithms_enabled(),
                              torch.is_deterministic_algorithms_warn_only_enabled()),
    "anomaly_mode": lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
    "matmul_precision": torch.get_float32_matmul_precision,
    "warnings": lambda: list(warnings.filters),
    "numpy_errors": _numpy_errors,
    "timers": _timers,
    "threads": threading.active_count,
    "working_folder": os.getcwd,
    "environment": lambda: dict(os.environ),
    "tracing": lambda: (sys.gettrace(), sys.getprofile()),
    "import_system": lambda: (list(sys.path), list(sys.meta_path), list(sys.path_hooks), builtins.__import__),
    "standard_streams": lambda: (sys.stdout, sys.stderr, sys.stdin),
    "rc_params": _rc_params,
}


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays, whose == is elementwise
        return False


def _namespaces() -> dict[str, tuple[Any, bool]]:
    """Watched namespaces by name: (the live mapping, whether attributes added to it count)."""
    spaces: dict[str, tuple[Any, bool]] = {}
    for name in WATCHED_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            spaces[name] = (vars(module), False)
    for name, classes in WATCHED_CLASSES.items():
        module = sys.modules.get(name)
        for class_name in classes if module is not None else ():
            cls = getattr(module, class_name, None)
            if isinstance(cls, type):
                spaces[f"{name}.{class_name}"] = (vars(cls), True)
    # the grader's own child-side code: a call that patched it would forge later exercises' records
    for name, module in list(sys.modules.items()):
        if name.startswith("grader.") and isinstance(module, ModuleType):
            spaces[name] = (vars(module), False)
    return spaces


def _watched(space_name: str, key: str, value: Any) -> bool:
    if space_name.startswith("grader."):  # the grader's state changes as it works; its code may not
        return isinstance(value, (type, FunctionType))
    return not key.startswith("_") or key.startswith("__") and key.endswith("__")


class ProcessState:
    """The settings and namespaces above as they are now; `changes()` names what differs later.

    `known`: the names each namespace held before the learner's code ran (`names_now()`): only those are
    reported, so that a note never shows a name the learner chose. `learner`: the learner's module, whose
    functions and classes are watched too (a call that rebinds `sigmoid` in its own module would change
    what the later exercises call); its names are the learner's own, so they may be shown."""

    def __init__(self, known: dict[str, frozenset[str]] | None = None, learner: ModuleType | None = None) -> None:
        _fill_lazy_caches()
        self._settings = {name: _read(get) for name, get in SETTINGS.items()}
        self._spaces: dict[str, tuple[Any, bool, dict[str, Any], int]] = {}
        self._codes: list[tuple[str, FunctionType, Any]] = []
        for space_name, (live, additions) in _namespaces().items():
            names = None if known is None else known.get(space_name, frozenset())
            saved = {key: value for key, value in live.items()
                     if _watched(space_name, key, value) and (names is None or key in names)}
            self._spaces[space_name] = (live, additions, saved, len(live))
            self._codes += [(f"{space_name}.{key}", value, value.__code__) for key, value in saved.items()
                            if type(value) is FunctionType]
        self._function_state: list[tuple[str, FunctionType, tuple]] = []
        if isinstance(learner, ModuleType) and learner.__name__ not in self._spaces:
            live = vars(learner)
            saved = {key: value for key, value in live.items() if not (key.startswith("__") and key.endswith("__"))}
            self._spaces[learner.__name__] = (live, False, saved, len(live))
            functions = [(f"{learner.__name__}.{key}", value) for key, value in saved.items() if type(value) is FunctionType]
            self._codes += [(name, function, function.__code__) for name, function in functions]
            self._function_state = [(name, function, _function_state(function)) for name, function in functions]
        self._modules = {name: sys.modules.get(name) for name in self._spaces}
        _LIVE.add(self)

    def _observed(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
        """The settings, the watched names' values and the functions' code, as they are now."""
        return ({name: _read(get) for name, get in SETTINGS.items()},
                {space: {key: live.get(key, _MISSING) for key in saved}
                 for space, (live, _, saved, _) in self._spaces.items()},
                {name: function.__code__ for name, function, _ in self._codes})

    def _absorb(self, before: tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]) -> None:
        """Take what changed since `before` as the state to compare with: torch's own doing (`torch_loads`)."""
        settings, spaces, codes = before
        for name, get in SETTINGS.items():
            now = _read(get)
            if not _same(now, settings[name]):
                self._settings[name] = now
        for space, (live, additions, saved, _) in self._spaces.items():
            for key, value in spaces[space].items():
                now = live.get(key, _MISSING)
                if not _same(now, value):
                    if now is _MISSING:
                        saved.pop(key, None)
                    else:
                        saved[key] = now
            self._spaces[space] = (live, additions, saved, len(live))
        self._codes = [(name, function, function.__code__ if function.__code__ is not codes[name] else code)
                       for name, function, code in self._codes]

    @staticmethod
    def names_now() -> dict[str, frozenset[str]]:
        _fill_lazy_caches()
        return {name: frozenset(live) for name, (live, _) in _namespaces().items()}

    def settings_changed(self) -> list[str]:
        """The settings that differ from the noted state (what a note tells the learner): cheap, where reading
        every attribute of torch, numpy and matplotlib writes to thousands of their objects (their reference
        counts), which a forked copy pays for in pages copied."""
        return [name for name, get in SETTINGS.items() if not _same(_read(get), self._settings[name])]

    def changes(self, limit: int = 8) -> list[str]:
        """What differs from the noted state: setting names, and `replaced:<namespace>.<name>` for an attribute
        replaced, removed, given other code, or (on a class) added. Attributes added to a module are left
        alone: torch adds its lazy ones itself."""
        found = self.settings_changed()
        for space_name, (live, additions, saved, size) in self._spaces.items():
            module = self._modules[space_name]
            if module is not None and sys.modules.get(space_name, module) is not module:
                found.append(f"replaced:{space_name}")
                continue
            if not _contained(saved, live):
                for name, value in saved.items():
                    current = live.get(name, _MISSING)
                    if not _same(current, value) and not _lazily_loaded(value, current) and \
                            f"{space_name}.{name}" not in FOLLOWS_A_SETTING:
                        found.append(f"replaced:{space_name}.{name}")
            if additions and len(live) != size and any(key not in saved and _watched(space_name, key, value)
                                                       for key, value in list(live.items())):
                found.append(f"added:{space_name}")
            if len(found) >= limit:
                return found[:limit]
        found += [f"replaced:{name}" for name, function, code in self._codes if function.__code__ is not code]
        found += [f"replaced:{name}" for name, function, state in self._function_state
                  if f"replaced:{name}" not in found and _function_state(function) != state]
        return found[:limit]


_LIVE: "weakref.WeakSet[ProcessState]" = weakref.WeakSet()


def torch_loads(load: Callable[[], Any]) -> Any:
    """Run `load` (torch importing a part of itself late, as the compiler when first asked for) and take what
    it changes as the state every ProcessState compares with: torch.func's first call loads the compiler,
    which wraps torch.manual_seed, registers operators and sets warnings and variables; none of that is the
    learner's doing. (A setting the learner changed earlier in the same call and the load changes again is
    taken too.)"""
    states = list(_LIVE)
    before = [state._observed() for state in states]
    try:
        return load()
    finally:
        for state, seen in zip(states, before):
            state._absorb(seen)


def _function_state(function: FunctionType) -> tuple:
    """What a call can change of a learner's function besides its code: its defaults, and what its closure
    holds (by identity: a cell given another object)."""
    cells = []
    for cell in function.__closure__ or ():
        try:
            cells.append(id(cell.cell_contents))
        except ValueError:  # an empty cell
            cells.append(None)
    return (id(function.__defaults__), id(function.__kwdefaults__), tuple(cells))


def _fill_lazy_caches() -> None:
    """Fill what the standard library caches in a module attribute at first use (tempfile.tempdir), so that
    a probe's first use of it is not taken for the learner's change."""
    tempfile.gettempdir()


def _contained(saved: dict[str, Any], live: Any) -> bool:
    """Whether every saved attribute is still there, the same or equal (compared in C: the usual case)."""
    try:
        return saved.items() <= live.items()
    except Exception:  # a value whose == raised: compared one by one
        return False


def _read(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except Exception as exc:
        return type(exc)


def _lazily_loaded(before: Any, after: Any) -> bool:
    """A module attribute torch itself fills in at first use (torch._dynamo behind its placeholder)."""
    name = getattr(after, "__name__", None)
    return isinstance(after, ModuleType) and name is not None and getattr(before, "__name__", name) == name
