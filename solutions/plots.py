"""Reference solutions for plots.py: each activation beside its derivative, and softmax as bars.

The teacher's copy; it scores full marks and is never shipped to students. Curves are torch
tensors; each derivative comes from autograd, right beside the function it differentiates.
"""
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "leaky_relu": F.leaky_relu}


def plot_activation(name, path):
    """f(x) on the left, f'(x) on the right (autograd), over [−10, 10]; titled, grid on; saved at path."""
    f = ACTIVATIONS[name]
    x = torch.linspace(-10, 10, 1001, requires_grad=True)
    y = f(x)
    (dy,) = torch.autograd.grad(y.sum(), x)  # dy[i] = f'(x[i]): each y[i] depends on x[i] alone
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    fig.subplots_adjust(bottom=0.18, wspace=0.3)
    left.plot(x.detach(), y.detach())
    left.set_title(f"{name}(x)")
    right.plot(x.detach(), dy, color="tab:orange")
    right.set_title(f"{name}'(x)")
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.grid(True)
    fig.savefig(path, dpi=80)
    return fig


def plot_softmax(logits, path):
    """Bars of softmax(logits) on the left and softmax(softmax(logits)) on the right; saved at path."""
    once = torch.softmax(logits, dim=-1)
    twice = torch.softmax(once, dim=-1)
    classes = range(len(logits))
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    fig.subplots_adjust(bottom=0.18)
    left.bar(classes, once)
    left.set_title("softmax(logits)")
    right.bar(classes, twice, color="tab:orange")
    right.set_title("softmax(softmax(logits))")
    for ax in (left, right):
        ax.set_xlabel("class")
        ax.grid(True, axis="y")
    fig.savefig(path, dpi=80)
    return fig
