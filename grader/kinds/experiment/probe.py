"""The experiment probe in the child, and its warm-up in the fork server.

The probe is `grader.recording.experiment_probe` (the record's shape is described there): the grader
runs the reference through the same code to make the expected record, so it lives below both sides.
"""
from __future__ import annotations

import torch

from grader.recording import experiment_probe

from .record import ExperimentRecord


def warm_experiments(backward: bool = True) -> None:
    """Build, run and back-propagate a tiny MLP under the recorder, so forked children start warm.

    `backward=False` stops at the forward pass: where a GPU is present, the first backward pass would
    start the driver and autograd's GPU threads in the fork server (see grader.child.warm)."""
    def tiny(depth: int = 2, seed: int = 0) -> list[float]:
        torch.manual_seed(seed)
        linears = [torch.nn.Linear(4, 4) for _ in range(depth)]
        torch.nn.init.kaiming_normal_(linears[0].weight, nonlinearity="relu")
        torch.nn.init.xavier_normal_(linears[-1].weight)
        x = torch.randn(3, 4)
        for linear in linears:
            x = torch.sigmoid(torch.tanh(torch.relu(linear(x))))
        if not backward:
            return [float(x.detach().norm())]
        x.pow(2).mean().backward()
        return [linear.weight.grad.norm().item() for linear in linears]

    experiment_probe(tiny, {"kwargs": {"depth": 2}, "options": {"observe": True, "rerun": True,
                                                                "changes": [{"seed": 1}], "plot": [{}]}})

PROBES = {"experiment": experiment_probe}
#: probe name → the type of the record it sends back
RECORDS = {"experiment": ExperimentRecord}


def warm(backward: bool) -> None:
    """In the fork server: torch.nn, autograd (where `backward`) and the F.linear recorder, for children to inherit."""
    warm_experiments(backward)
