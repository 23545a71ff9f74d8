"""Matplotlib made headless for learner code: Agg whatever it asks for, missing fonts fall back.

Runs once in the fork server (children inherit it): desktop code (matplotlib.use('TkAgg'),
plt.switch_backend, plt.show(), a font file from C:\\Windows\\Fonts) runs unchanged, and one tiny
figure is rendered so every child starts with the font cache built.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from .figure import describe_figure


def make_headless() -> None:
    """Keep matplotlib on Agg whatever the learner asks, and let missing font files fall back."""
    import matplotlib
    import matplotlib.font_manager as font_manager
    import matplotlib.pyplot as pyplot
    if getattr(matplotlib, "_torchgrade_headless", False):
        return
    matplotlib.use("Agg")
    original_switch = pyplot.switch_backend

    def use(backend: Any, *args: Any, **kwargs: Any) -> None:
        """Ignored by the grader: every figure is drawn with Agg (no window here)."""

    def switch_backend(newbackend: Any) -> None:
        if isinstance(newbackend, str) and newbackend.lower() == "agg":
            original_switch(newbackend)

    original_set_file = font_manager.FontProperties.set_file

    def set_file(self: Any, file: Any) -> None:
        if file is not None and isinstance(file, (str, os.PathLike)) and not os.path.isfile(file):
            logging.getLogger("matplotlib.font_manager").warning("font file %s not found", os.fspath(file))
            file = None
        original_set_file(self, file)

    matplotlib.use = use
    pyplot.switch_backend = switch_backend
    font_manager.FontProperties.set_file = set_file
    # Titles at the top of their axes, where matplotlib puts them anyway unless something sits above the
    # axes; it then skips measuring every tick label to check (a third of a learner's savefig time).
    # A learner's own rcParams or set_title(y=…) still win.
    matplotlib.rcParams["axes.titley"] = 1.0
    matplotlib._torchgrade_headless = True


def warm_plots() -> None:
    """Render one tiny figure in the fork server: children inherit the font cache and Agg."""
    import io

    import matplotlib.pyplot as pyplot
    make_headless()
    figure, axes = pyplot.subplots(1, 2, figsize=(2, 1))
    axes[0].plot([0.0, 1.0], [0.0, 1.0])
    axes[0].set_title("warm")
    axes[0].grid(True)
    axes[1].bar([0, 1], [0.5, 0.5])
    describe_figure(figure)
    figure.savefig(io.BytesIO(), format="png", dpi=20)
    pyplot.close("all")
