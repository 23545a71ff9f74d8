"""What runs inside the learner's child process: call the function as asked, return plain data.

A probe takes the learner's function and one call description (arguments, keywords, device,
options) and returns a dict of plain values and CPU tensors. Probes observe; they never judge:
every verdict is made in the grader's process from what they return.
"""
from __future__ import annotations

from typing import Any, Callable

from ..kinds.question.probe import answer_probe
from .core import call_probe, device_probe, forbid_probe, grad_probe
from ..kinds.experiment.probe import experiment_probe
from .init import calls_probe, exact_probe, generator_probe, in_place_probe, sample_probe
from ..kinds.plot.probe import plot_probe

Probe = Callable[[Callable, dict[str, Any]], dict[str, Any]]

PROBES: dict[str, Probe] = {
    "call": call_probe,
    "grad": grad_probe,
    "forbid": forbid_probe,
    "device": device_probe,
    "answer": answer_probe,
    "experiment": experiment_probe,
    "plot": plot_probe,
    "init_sample": sample_probe,
    "init_in_place": in_place_probe,
    "init_generator": generator_probe,
    "init_exact": exact_probe,
    "init_calls": calls_probe,
}
