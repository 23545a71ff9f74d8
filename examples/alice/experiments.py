"""Alice's experiments: right, written her own way (a loop, functional activations, F.mse_loss)."""
import torch
import torch.nn.functional as F
from torch import nn


def dead_relu_fraction(h):
    alive = (h > 0).any(dim=0)
    return (~alive).sum().to(h.dtype) / h.shape[1]


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu}[activation]
    torch.manual_seed(seed)
    layers = nn.ModuleList()
    for _ in range(depth):
        layer = nn.Linear(width, width)
        if init == "xavier":
            nn.init.xavier_normal_(layer.weight)
            layer.bias.data.zero_()
        elif init == "kaiming":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            layer.bias.data.zero_()
        layers.append(layer)
    out = torch.randn(128, width)
    for layer in layers:
        out = act(layer(out))
    F.mse_loss(out, torch.zeros_like(out)).backward()
    return [float(torch.linalg.vector_norm(layer.weight.grad)) for layer in layers]
