"""Bridges from torchgrade to the tools teachers and students already use (pytest, nbgrader)."""
