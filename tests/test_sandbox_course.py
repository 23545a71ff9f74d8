"""Not tests: a tiny course of its own for the sandbox and attack tests, so they do not depend on content in flux.

Three exercises in two modules: `sigmoid` (the one attacked: values, gradient, forbid, device,
a hidden values check) and `tanh` in activations.py, `relu` in extras.py. The honest baseline
is a submission whose sigmoid is wrong by +0.01: it fails the values checks and passes the
gradient, forbid and device checks, so an attack that changed any verdict shows.
"""
from __future__ import annotations

from pathlib import Path

from grader.spec import load_course

COURSE_YAML = """\
name: Sandbox test course
seed: 7
modules: [activations, extras]
exercises: [exercises/*.yaml]
limits:
  time_s: 10
  memory_mb: 2048
  output_kb: 64
sandbox:
  without_landlock: {policy}
"""

SIGMOID_YAML = """\
id: sigmoid
title: The sigmoid activation
module: activations
signature: "sigmoid(x)"
reference: torch.sigmoid
statement: "σ(x) = 1 / (1 + e^(−x)), element-wise."
forbid: [aten.sigmoid]
checks:
  - kind: values
    points: 3
    inputs: {x: {shapes: [[7], [4, 5]], range: [-10, 10]}}
    dtypes: [float32, float64]
  - kind: gradient
    points: 2
  - kind: forbid
    points: 1
  - kind: device
    points: 1
  - kind: values
    name: hidden_wide
    hidden: true
    points: 1
    inputs: {x: {shapes: [[100]], range: [-50, 50]}}
"""

TANH_YAML = """\
id: tanh
title: The hyperbolic tangent
module: activations
signature: "tanh(x)"
reference: solutions/activations.py:tanh
statement: "tanh(x), element-wise."
checks:
  - kind: values
    points: 3
    inputs: {x: {shapes: [[7], [3, 4]], range: [-6, 6]}}
    dtypes: [float32, float64]
  - kind: gradient
    points: 1
"""

RELU_YAML = """\
id: relu
title: The rectified linear unit
module: extras
signature: "relu(x)"
reference: torch.relu
statement: "max(0, x), element-wise."
checks:
  - kind: values
    points: 2
    inputs: {x: {shapes: [[9], [2, 3]], range: [-5, 5]}}
"""

SOLUTIONS = """\
import torch


def sigmoid(x):
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    m = torch.expm1(torch.where(x >= 0, -2 * x, 2 * x))
    return torch.where(x >= 0, -m / (2 + m), m / (2 + m))
"""

#: What every submission in these tests starts from: right tanh, helpers for a wrong and a right sigmoid.
PRELUDE = """\
import torch

_won = []  # an attack that got through appends here, and sigmoid then returns the right answer


def _wrong(x):
    return 1 / (1 + torch.exp(-x)) + 0.01


def _right(x):
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    m = torch.expm1(torch.where(x >= 0, -2 * x, 2 * x))
    return torch.where(x >= 0, -m / (2 + m), m / (2 + m))

"""
HONEST_SIGMOID = """
def sigmoid(x):
    return _right(x) if _won else _wrong(x)
"""
EXTRAS = """\
def relu(x):
    return x.clamp(min=0)
"""
EXERCISES = ["sigmoid", "tanh", "relu"]


def write_course(folder: Path, policy: str = "warn"):
    """Write the course into folder and load it."""
    (folder / "exercises").mkdir(parents=True, exist_ok=True)
    (folder / "solutions").mkdir(exist_ok=True)
    (folder / "course.yaml").write_text(COURSE_YAML.format(policy=policy))
    (folder / "exercises" / "sigmoid.yaml").write_text(SIGMOID_YAML)
    (folder / "exercises" / "tanh.yaml").write_text(TANH_YAML)
    (folder / "exercises" / "relu.yaml").write_text(RELU_YAML)
    (folder / "solutions" / "activations.py").write_text(SOLUTIONS)
    return load_course(folder / "course.yaml")


def submission(attack: str = "", sigmoid: str = HONEST_SIGMOID) -> dict[str, str]:
    """The honest-but-wrong submission, with `attack` run at import before sigmoid is defined."""
    return {"activations.py": PRELUDE + attack + "\n" + sigmoid, "extras.py": EXTRAS}


def summary(result) -> dict[str, list[tuple[str, str, float]]]:
    """{exercise: [(check, status, score), …]}: what an attack must leave exactly as it was."""
    return {e.id: [(c.name, c.status, c.score) for c in e.checks] for e in result.exercises}
