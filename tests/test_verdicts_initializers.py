"""Initialisers are judged on tensors that hold nan and inf before the call, and with generator=None
against the global generator."""
from __future__ import annotations

from conftest import check_of


def test_zeros_written_as_a_multiplication_by_zero_fails_on_a_tensor_holding_nan(grade_files):
    result = grade_files({"initializers.py": """
        import torch
        def zeros_(tensor):
            with torch.no_grad():
                return tensor.mul_(0)
    """}, exercises=["zeros_"])
    exact = check_of(result, "zeros_", "exact")
    assert exact.status == "failed"
    assert "computed from its old values" in exact.feedback  # it did write: 0 · nan is nan
    assert "without writing into it" not in exact.feedback


def test_zeros_written_with_zero__keeps_full_marks(grade_files):
    result = grade_files({"initializers.py": """
        import torch
        def zeros_(tensor):
            with torch.no_grad():
                return tensor.zero_()
    """}, exercises=["zeros_"])
    assert all(c.status == "passed" for c in next(e for e in result.exercises if e.id == "zeros_").checks)


def test_normal_that_makes_a_generator_seeded_zero_when_given_none_fails(grade_files):
    result = grade_files({"initializers.py": """
        import torch
        def normal_(tensor, mean=0.0, std=1.0, generator=None):
            if generator is None:
                generator = torch.Generator().manual_seed(0)
            with torch.no_grad():
                return tensor.normal_(mean, std, generator=generator)
    """}, exercises=["normal_"])
    generator = check_of(result, "normal_", "generator")
    assert generator.status == "failed"
    assert "generator=None" in generator.feedback


def test_normal_that_passes_none_on_to_torch_keeps_full_marks(grade_files):
    result = grade_files({"initializers.py": """
        import torch
        def normal_(tensor, mean=0.0, std=1.0, generator=None):
            with torch.no_grad():
                return tensor.normal_(mean, std, generator=generator)
    """}, exercises=["normal_"])
    assert all(c.status == "passed" for c in next(e for e in result.exercises if e.id == "normal_").checks)


def test_normal_computed_from_the_old_values_fails_on_a_tensor_holding_nan(grade_files):
    result = grade_files({"initializers.py": """
        import torch
        def normal_(tensor, mean=0.0, std=1.0, generator=None):
            with torch.no_grad():
                noise = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=tensor.device)
                return tensor.mul_(0).add_(noise * std + mean)
    """}, exercises=["normal_"])
    in_place = check_of(result, "normal_", "in_place")
    assert in_place.status == "failed" and "held nan" in in_place.feedback
