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


def test_a_process_that_ends_while_matplotlib_is_being_prepared_waits_for_it():
    """A daemon thread still in matplotlib's C++ code when the interpreter finalises can abort the process
    ('terminate called without an active exception'): the preparation is waited for at exit, so a process
    that ends at once still ends cleanly, with the preparation done."""
    code = textwrap.dedent("""
        import atexit
        from grader.checks import drawing
        atexit.register(lambda: print("prepared" if not drawing._PREPARATION.is_alive() else "still preparing"))
        drawing.prepare_in_background()
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "prepared"  # exit handlers run last-in first-out: the wait ran before this print
