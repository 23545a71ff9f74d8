"""initializers.py — write each function; see the exercise statements for what each must do.

Same signatures and semantics as torch.nn.init: fill the given tensor in place inside
torch.no_grad(), return that same tensor, draw every random number from `generator` when one is
given, and work on any shape, dtype and device. Do not call torch.nn.init.
"""
import math

import torch


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    raise NotImplementedError


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std²)."""
    raise NotImplementedError


def zeros_(tensor):
    """Fill with 0."""
    raise NotImplementedError


def ones_(tensor):
    """Fill with 1."""
    raise NotImplementedError


def constant_(tensor, val):
    """Fill with val."""
    raise NotImplementedError


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) as Python ints; ValueError for fewer than 2 dimensions."""
    raise NotImplementedError


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (a Python number)."""
    raise NotImplementedError


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std²), std = gain / √fan."""
    raise NotImplementedError


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(−bound, bound), bound = √3 · gain / √fan."""
    raise NotImplementedError


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std²), std = gain · √(2 / (fan_in + fan_out))."""
    raise NotImplementedError


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(−bound, bound), bound = gain · √(6 / (fan_in + fan_out))."""
    raise NotImplementedError
