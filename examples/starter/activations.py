"""activations.py — write each function; see the exercise statements for what each must do.

Every function takes and returns tensors, keeps the input's dtype, device and shape (unless
stated), does not modify its inputs, and works on any floating dtype and any device.
"""
import torch


def neuron(x, w, b):
    """sigmoid(x @ w + b)."""
    raise NotImplementedError


def sigmoid(x):
    """1 / (1 + exp(-x)), with no overflow or nan for any finite x."""
    raise NotImplementedError


def sigmoid_grad(x):
    """sigmoid(x) * (1 - sigmoid(x))."""
    raise NotImplementedError


def tanh(x):
    """(e^x - e^-x) / (e^x + e^-x), with no overflow or nan for any finite x."""
    raise NotImplementedError


def tanh_grad(x):
    """1 - tanh(x)**2."""
    raise NotImplementedError


def relu(x):
    """max(0, x)."""
    raise NotImplementedError


def relu_grad(x):
    """1 where x > 0, else 0 (0 at 0, as autograd)."""
    raise NotImplementedError


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x."""
    raise NotImplementedError


def leaky_relu_grad(x, negative_slope=0.01):
    """1 where x > 0, else negative_slope (negative_slope at 0, as autograd)."""
    raise NotImplementedError


def prelu(x, weight):
    """As torch.nn.functional.prelu: weight of 1 or C = x.shape[1] elements."""
    raise NotImplementedError


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along dim, with no overflow for any finite logits."""
    raise NotImplementedError


def softmax_jacobian(x):
    """x 1-D of n elements -> the n x n matrix diag(s) - s s^T, s = softmax(x)."""
    raise NotImplementedError
