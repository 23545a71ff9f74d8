"""plots.py — write each function; see the exercise statements for what each must draw.

Both functions save their figure as a PNG at `path` and return the Figure.
"""
import matplotlib.pyplot as plt
import torch


def plot_activation(name, path):
    """name in sigmoid, tanh, relu, leaky_relu: the activation left, its derivative right, over at
    least [-10, 10], each axes titled with the grid on; saved as PNG at path; returns the Figure."""
    raise NotImplementedError


def plot_softmax(logits, path):
    """Bar charts of softmax(logits) (left) and softmax(softmax(logits)) (right); saved as PNG at
    path; returns the Figure."""
    raise NotImplementedError
