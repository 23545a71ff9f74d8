"""Teacher-only variants of plots.py for `torchgrade audit`, named from the plot exercises' YAML.

Never shipped to students. Each function is one implementation a student could hand in.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch


def _numpy_activation(name, x):
    """f(x) and f'(x) for the course's activations, written out in NumPy."""
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-x))
        return s, s * (1 - s)
    if name == "tanh":
        t = np.tanh(x)
        return t, 1 - t * t
    slope = 0.01 if name == "leaky_relu" else 0.0
    return np.where(x > 0, x, slope * x), np.where(x > 0, 1.0, slope)


def activation_in_numpy(name, path):
    """Right: NumPy curves on a fine grid, the object-oriented interface."""
    x = np.linspace(-10, 10, 2001)
    y, dy = _numpy_activation(name, x)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, values, title in zip(axes, (y, dy), (name, f"derivative of {name}")):
        ax.plot(x, values)
        ax.set_title(title)
        ax.grid(True)
    fig.savefig(path)
    return fig


def activation_with_pyplot_state(name, path):
    """Right: the pyplot state machine (plt.subplot, plt.plot), the derivative by backward()."""
    functions = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                 "leaky_relu": torch.nn.functional.leaky_relu}
    x = torch.arange(-10, 10.005, 0.01, dtype=torch.float64, requires_grad=True)
    y = functions[name](x)
    y.sum().backward()
    fig = plt.figure()
    plt.subplot(1, 2, 1)
    plt.plot(x.detach().numpy(), y.detach().numpy())
    plt.title(name)
    plt.grid()
    plt.subplot(1, 2, 2)
    plt.plot(x.detach().numpy(), x.grad.numpy())
    plt.title(name + "'")
    plt.grid()
    plt.savefig(path)
    return fig


def activation_panels_swapped(name, path):
    """Wrong: the derivative on the left, the activation on the right."""
    x = np.linspace(-10, 10, 2001)
    y, dy = _numpy_activation(name, x)
    fig, (left, right) = plt.subplots(1, 2)
    left.plot(x, dy)
    right.plot(x, y)
    for ax in (left, right):
        ax.set_title(name)
        ax.grid(True)
    fig.savefig(path)
    return fig


def activation_narrow_range(name, path):
    """Wrong: drawn over [−5, 5] only."""
    x = np.linspace(-5, 5, 1001)
    y, dy = _numpy_activation(name, x)
    fig, (left, right) = plt.subplots(1, 2)
    for ax, values in ((left, y), (right, dy)):
        ax.plot(x, values)
        ax.set_title(name)
        ax.grid(True)
    fig.savefig(path)
    return fig


def activation_saved_before_drawing(name, path):
    """Wrong: savefig before anything is drawn, so the PNG holds two empty axes."""
    x = np.linspace(-10, 10, 2001)
    y, dy = _numpy_activation(name, x)
    fig, (left, right) = plt.subplots(1, 2)
    fig.savefig(path)
    for ax, values in ((left, y), (right, dy)):
        ax.plot(x, values)
        ax.set_title(name)
        ax.grid(True)
    return fig


def activation_saved_half_drawn(name, path):
    """Wrong: savefig after the left panel only; the figure returned is complete, the PNG is not."""
    x = np.linspace(-10, 10, 2001)
    y, dy = _numpy_activation(name, x)
    fig, (left, right) = plt.subplots(1, 2)
    left.plot(x, y)
    left.set_title(name)
    left.grid(True)
    fig.savefig(path)
    right.plot(x, dy)
    right.set_title(name + "'")
    right.grid(True)
    return fig


def activation_shown_not_returned(name, path):
    """Wrong: plt.show() at the end and no return."""
    x = np.linspace(-10, 10, 2001)
    y, dy = _numpy_activation(name, x)
    fig, (left, right) = plt.subplots(1, 2)
    for ax, values in ((left, y), (right, dy)):
        ax.plot(x, values)
        ax.set_title(name)
        ax.grid(True)
    fig.savefig(path)
    plt.show()


def activation_coarse_grid(name, path):
    """Wrong: 11 sample points, so the line cuts the corners of the smooth curves."""
    x = np.linspace(-10, 10, 11)
    y, dy = _numpy_activation(name, x)
    fig, (left, right) = plt.subplots(1, 2)
    for ax, values in ((left, y), (right, dy)):
        ax.plot(x, values)
        ax.set_title(name)
        ax.grid(True)
    fig.savefig(path)
    return fig


def _softmax(values):
    e = np.exp(values - np.max(values))
    return e / e.sum()


def softmax_in_numpy(logits, path):
    """Right: NumPy softmax, bars drawn with the object-oriented interface."""
    once = _softmax(np.asarray(logits, dtype=float))
    twice = _softmax(once)
    fig, axes = plt.subplots(1, 2)
    for ax, values, title in zip(axes, (once, twice), ("softmax", "softmax of softmax")):
        ax.bar(np.arange(len(values)), values)
        ax.set_title(title)
    fig.savefig(path)
    return fig


def softmax_horizontal_bars(logits, path):
    """Right: horizontal bars (barh), bottom to top."""
    once = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), dim=-1)
    twice = torch.softmax(once, dim=-1)
    fig, (left, right) = plt.subplots(1, 2)
    left.barh(range(len(once)), once.numpy())
    right.barh(range(len(twice)), twice.numpy())
    fig.savefig(path)
    return fig


def softmax_raw_logits(logits, path):
    """Wrong: the raw logits on the left, softmax(logits) on the right."""
    values = np.asarray(logits, dtype=float)
    fig, (left, right) = plt.subplots(1, 2)
    left.bar(range(len(values)), values)
    right.bar(range(len(values)), _softmax(values))
    fig.savefig(path)
    return fig


def softmax_panels_swapped(logits, path):
    """Wrong: softmax(softmax(logits)) on the left, softmax(logits) on the right."""
    once = _softmax(np.asarray(logits, dtype=float))
    fig, (left, right) = plt.subplots(1, 2)
    left.bar(range(len(once)), _softmax(once))
    right.bar(range(len(once)), once)
    fig.savefig(path)
    return fig


def softmax_not_saved(logits, path):
    """Wrong: the figure is shown and returned but never saved at path."""
    once = _softmax(np.asarray(logits, dtype=float))
    fig, (left, right) = plt.subplots(1, 2)
    left.bar(range(len(once)), once)
    right.bar(range(len(once)), _softmax(once))
    plt.show()
    return fig


def softmax_saved_half_drawn(logits, path):
    """Wrong: savefig after the left chart only; the figure returned is complete, the PNG is not."""
    once = _softmax(np.asarray(logits, dtype=float))
    fig, (left, right) = plt.subplots(1, 2)
    left.bar(range(len(once)), once)
    fig.savefig(path)
    right.bar(range(len(once)), _softmax(once))
    return fig
