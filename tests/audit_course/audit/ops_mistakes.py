"""Teacher-only variants of the audit test course, named from the exercises' YAML."""
import torch


def square_as_double(x):
    return 2 * x


def square_as_pow(x):
    return torch.pow(x, 2)
