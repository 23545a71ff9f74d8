"""Reference solutions for experiments.py.

The teacher's copy; it scores full marks and is never shipped to students.
"""
import torch
from torch import nn

BATCH = 128
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def dead_relu_fraction(h):
    """The share of units (columns of h) that are 0 for every example (row): dead for this batch."""
    dead = (h == 0).all(dim=0)
    return dead.to(h.dtype).mean()


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    """Per-layer weight-gradient norms, first to last, of a depth-layer MLP after one backward pass."""
    torch.manual_seed(seed)
    linears = []
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width)  # "default": PyTorch's own initialisation
        if init == "xavier":
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        elif init == "kaiming":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        linears.append(linear)
        layers += [linear, ACTIVATIONS[activation]()]
    network = nn.Sequential(*layers)
    x = torch.randn(BATCH, width)
    loss = network(x).pow(2).mean()
    loss.backward()
    return [linear.weight.grad.norm().item() for linear in linears]
