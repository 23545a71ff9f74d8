"""Teacher-only variants of experiments.py for `torchgrade audit`, named from the experiments' YAML.

Never shipped to students. Each gradient_norms variant follows the recipe of the statement except
where its docstring says otherwise.
"""
import torch
from torch import nn

BATCH = 128
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def _layers(depth, width, init, reseed=None):
    linears = []
    for _ in range(depth):
        if reseed is not None:
            torch.manual_seed(reseed)
        linear = nn.Linear(width, width)
        if init == "xavier":
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        elif init == "kaiming":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        linears.append(linear)
    return linears


def _forward(linears, activation, x):
    for linear in linears:
        x = ACTIVATIONS[activation]()(linear(x))
    return x


def norms_with_autograd_grad(activation, depth, init="default", width=64, seed=0):
    """Right: torch.autograd.grad on the weights instead of backward(), a loop instead of nn.Sequential."""
    torch.manual_seed(seed)
    linears = _layers(depth, width, init)
    x = torch.randn(BATCH, width)
    loss = _forward(linears, activation, x).square().mean()
    grads = torch.autograd.grad(loss, [linear.weight for linear in linears])
    return [float(torch.linalg.vector_norm(g)) for g in grads]


def norms_as_tensor(activation, depth, init="default", width=64, seed=0):
    """Right: a module list, the norms returned as one tensor."""
    torch.manual_seed(seed)
    layers = nn.ModuleList(_layers(depth, width, init))
    out = torch.randn(BATCH, width)
    for layer in layers:
        out = ACTIVATIONS[activation]()(layer(out))
    (out ** 2).mean().backward()
    return torch.stack([layer.weight.grad.norm() for layer in layers])


def norms_of_one_reused_seed(activation, depth, init="default", width=64, seed=0):
    """Wrong: torch.manual_seed(seed) before every layer, so every layer starts with the same weights."""
    torch.manual_seed(seed)
    linears = _layers(depth, width, init, reseed=seed)
    x = torch.randn(BATCH, width)
    _forward(linears, activation, x).pow(2).mean().backward()
    return [linear.weight.grad.norm().item() for linear in linears]


def norms_of_summed_loss(activation, depth, init="default", width=64, seed=0):
    """Wrong: the loss is the sum of the squared outputs, not their mean."""
    torch.manual_seed(seed)
    linears = _layers(depth, width, init)
    x = torch.randn(BATCH, width)
    _forward(linears, activation, x).pow(2).sum().backward()
    return [linear.weight.grad.norm().item() for linear in linears]


def norms_without_seed(activation, depth, init="default", width=64, seed=0):
    """Wrong: the seed is never used."""
    linears = _layers(depth, width, init)
    x = torch.randn(BATCH, width)
    _forward(linears, activation, x).pow(2).mean().backward()
    return [linear.weight.grad.norm().item() for linear in linears]


def norms_last_to_first(activation, depth, init="default", width=64, seed=0):
    """Wrong: the norms listed from the last layer to the first."""
    torch.manual_seed(seed)
    linears = _layers(depth, width, init)
    x = torch.randn(BATCH, width)
    _forward(linears, activation, x).pow(2).mean().backward()
    return [linear.weight.grad.norm().item() for linear in reversed(linears)]


def norms_init_ignored(activation, depth, init="default", width=64, seed=0):
    """Wrong: init is ignored; every network keeps PyTorch's default initialisation."""
    torch.manual_seed(seed)
    linears = _layers(depth, width, "default")
    x = torch.randn(BATCH, width)
    _forward(linears, activation, x).pow(2).mean().backward()
    return [linear.weight.grad.norm().item() for linear in linears]


def norms_invented(activation, depth, init="default", width=64, seed=0):
    """Wrong: no network at all, numbers shaped to look like the expected behaviour."""
    generator = torch.Generator().manual_seed(seed)
    noise = 1 + 0.1 * torch.rand(depth, generator=generator)
    if activation == "sigmoid":
        return [float(0.25 ** (depth - i) * noise[i]) for i in range(depth)]
    return [float(noise[i]) for i in range(depth)]
