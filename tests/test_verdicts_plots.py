"""The saved file earns its points only when it shows the Figure the function returned."""
from __future__ import annotations

from conftest import check_of

NOISE = """
import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

def plot_activation(name, path):
    Image.fromarray((np.random.default_rng(0).random((300, 800, 3)) * 255).astype(np.uint8)).save(path)
    return plt.figure()
"""

OTHER_FIGURE = """
import matplotlib.pyplot as plt
import torch

def plot_activation(name, path):
    x = torch.linspace(-10, 10, 1001)
    wrong = plt.figure()
    wrong.gca().bar(range(3), [3, 1, 2])
    wrong.savefig(path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    left.plot(x, torch.sigmoid(x)); right.plot(x, torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    return fig
"""


def test_an_empty_figure_and_a_noise_png_earn_no_saved_points(grade_files):
    result = grade_files({"plots.py": NOISE}, exercises=["plot_activation"])
    saved = check_of(result, "plot_activation", "saved")
    assert saved.status == "failed"
    assert "empty" in saved.feedback


def test_a_file_of_another_figure_earns_no_saved_points(grade_files):
    result = grade_files({"plots.py": OTHER_FIGURE}, exercises=["plot_activation"])
    saved = check_of(result, "plot_activation", "saved")
    assert saved.status == "failed"
    assert "does not show the Figure" in saved.feedback


def test_the_figure_saved_tight_on_grey_at_another_dpi_keeps_the_saved_points(grade_files):
    result = grade_files({"plots.py": """
        import matplotlib.pyplot as plt
        import torch

        def plot_activation(name, path):
            f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                 "leaky_relu": torch.nn.functional.leaky_relu}[name]
            x = torch.linspace(-10, 10, 1001, requires_grad=True)
            y = f(x)
            (dy,) = torch.autograd.grad(y.sum(), x)
            fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
            left.plot(x.detach(), y.detach()); right.plot(x.detach(), dy)
            fig.savefig(path, dpi=150, bbox_inches="tight", facecolor="lightgrey")
            return fig
    """}, exercises=["plot_activation"])
    assert check_of(result, "plot_activation", "saved").status == "passed"


def test_a_file_saved_before_the_second_panel_was_drawn_earns_no_saved_points(grade_files):
    result = grade_files({"plots.py": """
        import matplotlib.pyplot as plt
        import torch

        def plot_activation(name, path):
            f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                 "leaky_relu": torch.nn.functional.leaky_relu}[name]
            x = torch.linspace(-10, 10, 1001, requires_grad=True)
            y = f(x)
            (dy,) = torch.autograd.grad(y.sum(), x)
            fig, (left, right) = plt.subplots(1, 2)
            left.plot(x.detach(), y.detach()); left.set_title(name); left.grid(True)
            fig.savefig(path)
            right.plot(x.detach(), dy); right.set_title(name + "'"); right.grid(True)
            return fig
    """}, exercises=["plot_activation"])
    assert check_of(result, "plot_activation", "saved").status == "failed"
