"""The grader's own pictures: matplotlib is made ready while the child runs, once, and only when needed."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from grader.judge import drawn_in_judging

REPO = Path(__file__).resolve().parents[1]


def test_plot_and_experiment_checks_are_the_exercises_whose_judging_draws(plans):
    assert drawn_in_judging(plans(("plot_activation",), False)) == {"plot_activation"}
    assert drawn_in_judging(plans(("gradient_norms",), False)) == {"gradient_norms"}
    assert drawn_in_judging(plans(("sigmoid", "bce_loss", "gradient_norms"), False)) == {"gradient_norms"}


def test_preparation_happens_once_in_the_background_and_leaves_matplotlib_ready():
    code = textwrap.dedent("""
        import sys, threading
        from grader.checks import drawing
        print("matplotlib.figure" in sys.modules)
        drawing.prepare_in_background()
        first = drawing._PREPARATION
        drawing.prepare_in_background()
        print(first is drawing._PREPARATION, first.daemon)
        drawing.ready()
        print(first.is_alive(), "matplotlib.backends.backend_agg" in sys.modules, "matplotlib.pyplot" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    # not loaded before; one daemon thread however often asked; done after ready(), without pyplot's global state
    assert done.stdout.split("\n")[:3] == ["False", "True True", "False True False"]
