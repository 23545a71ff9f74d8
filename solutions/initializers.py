"""Reference solutions for initializers.py: torch.nn.init's routines, written from tensor operations.

The teacher's copy; it scores full marks and is never shipped to students. Every routine fills
the tensor it is given in place, inside torch.no_grad() (model weights are Parameters that
require grad), returns that same tensor, and draws every random number from `generator`.
"""
import math

import torch


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b): every value equally likely in [a, b)."""
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std²)."""
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def zeros_(tensor):
    """Fill with 0: the usual start for biases (the weights already break the symmetry)."""
    with torch.no_grad():
        return tensor.zero_()


def ones_(tensor):
    """Fill with 1: e.g. the scale of a normalisation layer."""
    with torch.no_grad():
        return tensor.fill_(1.0)


def constant_(tensor, val):
    """Fill with val."""
    with torch.no_grad():
        return tensor.fill_(val)


def fan_in_and_fan_out(tensor):
    """(inputs, outputs) per unit: weight (out, in, *kernel) → (in · k, out · k), k = the kernel's size."""
    if tensor.dim() < 2:
        raise ValueError("fan in and fan out need a tensor of at least 2 dimensions (out, in, *kernel)")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


#: Nonlinearities whose gain is 1: they keep the variance of their input (sigmoid by convention).
_GAIN_ONE = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
             "sigmoid"}


def calculate_gain(nonlinearity, param=None):
    """How much a nonlinearity shrinks the spread of its input, inverted: the factor to scale weights by."""
    if nonlinearity in _GAIN_ONE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)  # relu zeroes half its inputs, halving the variance
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std²), std = gain / √fan: keeps each layer's activations (fan_in) or gradients (fan_out) at one scale."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(−bound, bound), bound = √3 · gain / √fan: the uniform with kaiming_normal_'s std."""
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std²), std = gain · √(2 / (fan_in + fan_out)): a compromise between forward and backward scale."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(−bound, bound), bound = gain · √(6 / (fan_in + fan_out)): the uniform with xavier_normal_'s std."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator=generator)
