"""What a learner's call leaves changed for the whole process, noticed so it reaches no later exercise.

Each learner module is graded in a child of its own, so nothing one module does reaches another's
exercises. A module's exercises run one after another in its child, though: a derivative that switches
gradients off for good, sets the default dtype, enters a device context or a saved-tensors hook and
never leaves it, or replaces `torch.exp`, would change how the module's later exercises run, and right
work there would fail under the wrong name. So the child notes the process's state once the module is
imported and compares it after each exercise; where it differs, that exercise's record says what changed
and the child ends, and the grader grades the module's remaining exercises in a fresh child, where only
the import has run. The fresh child is what isolates; this list only decides when one is needed.

Only getters that import nothing are used: a confined child may not be able to read torch's files.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import warnings
from types import FunctionType
from typing import Any, Callable

import builtins
import torch

#: Modules whose attributes a call may replace for everyone who calls them later (checked by identity).
WATCHED_MODULES = ("torch", "torch.nn.functional", "torch.nn.init", "torch.autograd", "torch.linalg",
                   "torch.special", "torch.nn", "math", "builtins", "numpy", "matplotlib", "matplotlib.pyplot")
#: Classes whose methods a call may replace.
WATCHED_CLASSES: tuple[Callable[[], Any], ...] = (
    lambda: torch.Tensor, lambda: torch._C.TensorBase, lambda: torch.autograd.Function,
    lambda: sys.modules["matplotlib.axes"].Axes if "matplotlib.axes" in sys.modules else None,
    lambda: sys.modules["matplotlib.figure"].Figure if "matplotlib.figure" in sys.modules else None,
)
#: Attributes torch rebinds itself when a setting above changes (torch.Storage follows the default dtype).
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


def _numpy_errors() -> Any:
    numpy = sys.modules.get("numpy")
    return None if numpy is None else tuple(sorted(numpy.geterr().items()))


def _rc_params() -> dict[str, Any] | None:
    matplotlib = sys.modules.get("matplotlib")
    return None if matplotlib is None else dict.copy(matplotlib.rcParams)


#: What is compared after each exercise: a name (shown to the learner by the grader) and how to read it.
SETTINGS: dict[str, Callable[[], Any]] = {
    "grad_mode": torch.is_grad_enabled,
    "inference_mode": torch.is_inference_mode_enabled,
    "default_dtype": torch.get_default_dtype,
    # torch.set_default_device and `with torch.device(...)` push onto this stack, as do function modes
    "function_modes": torch._C._len_torch_function_stack,
    "torch_function": torch._C._is_torch_function_enabled,
    "dispatch_modes": torch._C._len_torch_dispatch_stack,
    "saved_tensors_hooks": _saved_tensors_hooks,
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


def _namespaces() -> dict[str, dict[str, Any]]:
    spaces = {name: vars(module) for name in WATCHED_MODULES if (module := sys.modules.get(name)) is not None}
    for get in WATCHED_CLASSES:
        cls = get()
        if cls is not None:
            spaces[f"{cls.__module__}.{cls.__qualname__}"] = vars(cls)
    # the grader's own child-side code: a call that patched it would forge later exercises' records
    spaces.update({name: vars(module) for name, module in list(sys.modules.items())
                   if name.startswith("grader.") and module is not None})
    return spaces


class ProcessState:
    """The settings and namespaces above as they are now; `changes()` names what differs later."""

    def __init__(self) -> None:
        self._settings = {name: _read(get) for name, get in SETTINGS.items()}
        #: namespace name → (the live mapping, its entries now); the grader's own modules by their code only,
        #: since their state changes as they work
        self._spaces = {name: (space, dict(space) if not name.startswith("grader.") else
                               {key: value for key, value in space.items() if isinstance(value, (type, FunctionType))})
                        for name, space in _namespaces().items()}
        self._modules = {name: sys.modules.get(name) for name in self._spaces}

    def changes(self, limit: int = 8) -> list[str]:
        """What differs from the noted state: setting names, and `replaced:<module>.<name>` for an attribute
        replaced or removed (attributes added since are left alone: torch adds its lazy ones itself)."""
        found = [name for name, get in SETTINGS.items() if not _same(_read(get), self._settings[name])]
        for space_name, (now, saved) in self._spaces.items():
            if sys.modules.get(space_name, self._modules[space_name]) is not self._modules[space_name]:
                found.append(f"replaced:{space_name}")
                continue
            for name, value in saved.items():
                current = now.get(name, _MISSING)
                if current is not value and not _lazily_loaded(value, current) and \
                        f"{space_name}.{name}" not in FOLLOWS_A_SETTING:
                    found.append(f"replaced:{space_name}.{name}")
                    if len(found) >= limit:
                        return found
        return found[:limit]


def _read(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except Exception as exc:
        return type(exc)


def _lazily_loaded(before: Any, after: Any) -> bool:
    """A module attribute torch itself fills in at first use (torch._dynamo behind its placeholder)."""
    name = getattr(after, "__name__", None)
    return (isinstance(after, type(math)) and name is not None and getattr(before, "__name__", name) == name)
