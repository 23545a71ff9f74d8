"""The forbid_function kind as written in exercise YAML."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from grader.spec.checks import InitCheckBase


class ForbidFunctionCheck(InitCheckBase):
    """The function must not run the named Python functions (torch.nn.init's routine it is asked to write)."""

    kind: Literal["forbid_function"]
    functions: list[str] = Field(min_length=1, description="dotted names, e.g. torch.nn.init.kaiming_normal_")

    @model_validator(mode="after")
    def _python_functions(self) -> "ForbidFunctionCheck":
        import inspect
        from grader.spec.refs import ReferenceError_, resolve_callable
        for index, name in enumerate(self.functions):
            try:
                function = inspect.unwrap(resolve_callable(".", name))
            except ReferenceError_:
                raise ValueError(f"functions[{index}]: cannot import '{name}' (e.g. torch.nn.init.zeros_)") from None
            if not hasattr(function, "__code__"):
                raise ValueError(f"functions[{index}]: '{name}' is not a Python function; forbid aten operators "
                                 f"with the 'forbid' kind")
        return self
