"""Reference solutions of the audit test course."""
import torch


def relu(x):
    """max(0, x)."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def square(x):
    """x²."""
    return x * x
