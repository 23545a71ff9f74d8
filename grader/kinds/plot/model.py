"""The plot kind as written in exercise YAML."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from grader.spec.checks import CheckBase, Strict


class PlotFunction(Strict):
    """One curve a plot check knows: the function (a torch callable) and where it has a kink."""

    of: str = Field(description="e.g. torch.sigmoid; its derivative comes from autograd")
    kinks: list[float] = Field(default_factory=list, description="x where the derivative jumps (relu: [0])")


PlotAspect = Literal["file", "returns", "layout", "curves", "bars", "titles", "grid"]


class PlotCheck(CheckBase):
    """What a plotting function drew and saved: PNG file, 1 × 2 layout, curves or bars, titles, grid."""

    kind: Literal["plot"]
    figure: Literal["activation", "softmax"] = Field(
        description="activation: f left, f' right (one case per function); softmax: bars of softmax(logits) "
                    "left, softmax(softmax(logits)) right (one case per logits)")
    requires: list[PlotAspect] = Field(min_length=1, description="what this check grades")
    functions: dict[str, PlotFunction] | None = Field(
        default=None, description="figure activation: name → function; default: the first plot check's")
    logits: list[list[float]] | None = Field(
        default=None, description="figure softmax: one case per list; default: the first plot check's")
    x_range: tuple[float, float] = Field(default=(-10.0, 10.0), description="each curve must cover it")
    tolerance: float = Field(default=0.005, gt=0, le=0.5,
                             description="allowed distance from the reference, as a fraction of its height")

    @model_validator(mode="after")
    def _fits_figure(self) -> "PlotCheck":
        if self.inputs is not None or self.cases or self.kwargs is not None or self.dtypes is not None:
            raise ValueError("a plot check takes its cases from 'functions' or 'logits', not inputs/cases/kwargs/dtypes")
        wrong = {"activation": "bars", "softmax": "curves"}[self.figure]
        if wrong in self.requires:
            raise ValueError(f"'{wrong}' does not apply to figure: {self.figure}")
        if self.figure == "activation" and self.logits is not None:
            raise ValueError("'logits' belongs to figure: softmax")
        if self.figure == "softmax" and self.functions is not None:
            raise ValueError("'functions' belongs to figure: activation")
        if self.x_range[0] >= self.x_range[1]:
            raise ValueError("x_range: the low end must be below the high end")
        for name, function in (self.functions or {}).items():
            if ":" not in function.of and not _importable(function.of):
                raise ValueError(f"functions: {name}: cannot import '{function.of}' (e.g. torch.sigmoid)")
        if any(len(row) == 0 for row in self.logits or []):
            raise ValueError("logits: every case needs at least one logit")
        return self


def _importable(dotted: str) -> bool:
    from grader.spec.refs import ReferenceError_, resolve_callable
    try:
        resolve_callable(".", dotted)
    except ReferenceError_:
        return False
    return True
