"""Reference solutions for activations.py: each activation beside its derivative.

The teacher's copy; it scores full marks and is never shipped to students. Every function keeps
the input's dtype, device and shape, never modifies its input, and never overflows: exp only
ever sees a non-positive argument.
"""
import torch


def neuron(x, w, b):
    """σ(x @ w + b): a weighted sum of the inputs plus a bias, squashed into (0, 1)."""
    return sigmoid(x @ w + b)


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x)); for x < 0 the equal form e^x / (1 + e^x), so exp sees −|x|."""
    e = torch.exp(torch.where(x >= 0, -x, x))  # e^(−|x|), in (0, 1]
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(x):
    """σ'(x) = σ(x) (1 − σ(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x):
    """tanh(x) = (1 − e^(−2x)) / (1 + e^(−2x)) for x ≥ 0, and −tanh(−x) for x < 0."""
    m = torch.expm1(torch.where(x >= 0, -2 * x, 2 * x))  # e^(−2|x|) − 1, exact near 0
    return torch.where(x >= 0, -m / (2 + m), m / (2 + m))


def tanh_grad(x):
    """tanh'(x) = 1 − tanh²(x)."""
    t = tanh(x)
    return 1 - t * t


def relu(x):
    """relu(x) = max(0, x)."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_grad(x):
    """relu'(x) = 1 where x > 0, else 0 (0 at x = 0, as autograd)."""
    return (x > 0).to(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    """leaky_relu(x) = x where x > 0, else negative_slope · x."""
    return torch.where(x > 0, x, negative_slope * x)


def leaky_relu_grad(x, negative_slope=0.01):
    """leaky_relu'(x) = 1 where x > 0, else negative_slope (negative_slope at x = 0, as autograd)."""
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))


def prelu(x, weight):
    """prelu(x) = x where x > 0, else a · x, with a = weight[c] for channel c = dim 1 (or one shared a)."""
    if weight.numel() == 1:
        a = weight.reshape(())
    else:
        a = weight.reshape(weight.shape + (1,) * (x.dim() - 2))  # (C, 1, 1, …) lines up with x's dim 1
    return torch.where(x > 0, x, a * x)


def softmax(x, dim=-1):
    """softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m), m = max_j x_j along dim, so exp sees ≤ 0."""
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    """J = diag(s) − s sᵀ with s = softmax(x), for 1-D x: J[i, j] = ∂s_i / ∂x_j."""
    s = softmax(x)
    return torch.diag(s) - torch.outer(s, s)
