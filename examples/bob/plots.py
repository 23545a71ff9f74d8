"""Bob's plots: mostly right, with the mistakes students typically make.

Each mistake is marked with a MISTAKE comment and costs only the checks of its own exercise.
"""
import matplotlib.pyplot as plt
import torch


def plot_activation(name, path):
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
         "leaky_relu": torch.nn.functional.leaky_relu}[name]
    # MISTAKE: the x range is too narrow, [−5, 5] instead of at least [−10, 10] (figure).
    x = torch.linspace(-5, 5, 200, requires_grad=True)
    y = f(x)
    y.sum().backward()
    fig, ax = plt.subplots(1, 2, figsize=(8, 3))
    ax[0].plot(x.detach(), y.detach())
    ax[0].set_title(name)
    ax[1].plot(x.detach(), x.grad)
    ax[1].set_title(f"d {name} / dx")
    # MISTAKE: no grid (style).
    fig.savefig(path)
    return fig


def plot_softmax(logits, path):
    fig, ax = plt.subplots(1, 2, figsize=(8, 3))
    # MISTAKE: draws the raw logits on the left instead of softmax(logits) (figure).
    ax[0].bar(range(len(logits)), logits)
    ax[0].set_title("logits")
    ax[1].bar(range(len(logits)), torch.softmax(torch.softmax(logits, dim=0), dim=0))
    ax[1].set_title("softmax(softmax(logits))")
    # MISTAKE: saved, but the Figure is not returned (saved).
    fig.savefig(path)
