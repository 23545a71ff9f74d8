"""Bob's experiments: two plausible mistakes."""
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def dead_relu_fraction(h):
    # MISTAKE: the share of zero entries, not of units that are zero for every example.
    return (h == 0).to(h.dtype).mean()


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    linears, layers = [], []
    for _ in range(depth):
        # MISTAKE: re-seeding before every layer gives every layer the same weights.
        torch.manual_seed(seed)
        linear = nn.Linear(width, width)
        if init == "xavier":
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        elif init == "kaiming":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        linears.append(linear)
        layers += [linear, ACTIVATIONS[activation]()]
    x = torch.randn(128, width)
    nn.Sequential(*layers)(x).pow(2).mean().backward()
    return [linear.weight.grad.norm().item() for linear in linears]
