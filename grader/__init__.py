"""torchgrade: exercises and an isolated autograder for neural-network fundamentals in PyTorch.

The package is a pipeline: spec → cases → sandbox → checks → scoring → report; `run` is the
only module where they meet, and `cli` only parses and calls.
"""
__version__ = "0.1.0"
