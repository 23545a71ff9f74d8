"""torchgrade: exercises and an isolated autograder for neural-network fundamentals in PyTorch.

The package is a pipeline: spec → cases → checks (a plan) → sandbox → checks (verdicts) → scoring →
report. docs/explanation/architecture.md describes it; .importlinter holds its layers as import rules.
"""
__version__ = "0.1.0"
