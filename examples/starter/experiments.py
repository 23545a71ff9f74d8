"""experiments.py — write each function; see the exercise statements for what each must do."""
import torch
from torch import nn


def dead_relu_fraction(h):
    """h: (batch, units) after a ReLU -> the fraction of units that are 0 for every example (0-dim, h's dtype)."""
    raise NotImplementedError


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    """Per-layer weight-gradient norms (first to last) of a depth-layer MLP, following the statement's recipe."""
    raise NotImplementedError
