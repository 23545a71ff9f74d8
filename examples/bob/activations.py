"""Bob's activations: mostly right, with the mistakes students typically make.

Each mistake is marked with a MISTAKE comment and costs only the checks of its own exercise.
"""
import torch


def _stable_sigmoid(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def neuron(x, w, b):
    # MISTAKE: forgets the bias (values, stability, gradient wrt b).
    return _stable_sigmoid(x @ w)


def sigmoid(x):
    # MISTAKE: the textbook formula. Its value rounds to 0 at x = -1e4, but exp(-x) is inf there,
    # so autograd gets 0 * inf = nan (stable_gradient).
    return 1 / (1 + torch.exp(-x))


def sigmoid_grad(x):
    s = _stable_sigmoid(x)
    # MISTAKE: .float() turns a float64 input into a float32 result (dtype).
    return (s * (1 - s)).float()


def tanh(x):
    # MISTAKE: torch.ones(x.shape) is always on the CPU (device); torch.sign(x) and x.abs() give the
    # gradient 0 at x = 0, where tanh's is 1 (gradient).
    one = torch.ones(x.shape, dtype=x.dtype)
    e = torch.exp(-2 * x.abs())
    return torch.sign(x) * (one - e) / (one + e)


def tanh_grad(x):
    t = tanh_stable(x)
    return 1 - t * t


def tanh_stable(x):
    return 2 * _stable_sigmoid(2 * x) - 1


def relu(x):
    # MISTAKE: clamps the caller's tensor in place (modified input; autograd refuses it too).
    return x.clamp_(min=0)


def relu_grad(x):
    return (x > 0).to(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    # MISTAKE: .detach() cuts the gradient on the negative side (gradient).
    return torch.where(x > 0, x, negative_slope * x.detach())


def leaky_relu_grad(x, negative_slope=0.01):
    # MISTAKE: forgets the slope: 0 for negative x, as if it were relu (values, derivative).
    return (x > 0).to(x.dtype)


def prelu(x, weight):
    # MISTAKE: weight broadcasts against the last dimension, not the channel dimension 1.
    return torch.where(x >= 0, x, weight * x)


def softmax(x, dim=0):
    # MISTAKE: the default dim is 0, not -1 (values for inputs of 2 or more dimensions).
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    s = softmax(x, dim=0)
    # MISTAKE: the wrong sign: s sᵀ − diag(s).
    return torch.outer(s, s) - torch.diag(s)
