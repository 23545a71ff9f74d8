"""The schema of each check kind as it is written in exercise YAML.

One model per kind, discriminated by `kind`. The behaviour of a kind lives in
`grader/checks/<kind>.py`; here is only what a teacher may write.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, model_validator

DType = Literal["float16", "bfloat16", "float32", "float64"]
Device = Literal["cpu", "cuda"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorInput(Strict):
    """Random tensors for one argument: one tensor per entry of `shapes`."""

    shapes: list[list[NonNegativeInt]] = Field(min_length=1)
    range: tuple[float, float] = (-10.0, 10.0)
    integers: tuple[int, int] | None = Field(
        default=None, description="[low, high): integer tensors (class indices) instead of floats"
    )
    classes_of: str | None = Field(
        default=None, description="class indices in [0, C) where C is the last dimension of this other input"
    )

    @model_validator(mode="after")
    def _ordered(self) -> "TensorInput":
        if self.classes_of is not None:
            if self.integers is not None:
                raise ValueError("give either integers or classes_of, not both")
            return self
        low, high = self.integers if self.integers is not None else self.range
        if not low < high:
            which = "integers" if self.integers is not None else "range"
            raise ValueError(f"{which}: the low end must be below the high end")
        return self


class LiteralTensor(Strict):
    """An explicit tensor (`values` as nested lists) of floats or int64."""

    values: Any
    dtype: Literal["float", "int64"] = "float"


class Tolerance(Strict):
    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)


class CaseSource(Strict):
    """Where a check's cases come from. Leave it all out to reuse the first values check's."""

    inputs: dict[str, TensorInput] | None = None
    cases: list[dict[str, LiteralTensor | list | float | int]] = Field(
        default_factory=list, description="explicit cases, e.g. extreme values"
    )
    kwargs: list[dict[str, Any]] | None = Field(
        default=None, description="every case runs once per keyword set; {} means the defaults"
    )
    dtypes: list[DType] | None = None
    devices: list[Device] = Field(default_factory=lambda: ["cpu"])

    def has_own_cases(self) -> bool:
        return self.inputs is not None or bool(self.cases)


class CheckBase(CaseSource):
    name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    points: PositiveFloat
    hidden: bool = False
    hint: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.kind  # type: ignore[attr-defined]


class ValuesCheck(CheckBase):
    """Student output against the reference's, element by element."""

    kind: Literal["values"]
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)


class GradientCheck(CheckBase):
    """Autograd through the student's function against autograd through the reference."""

    kind: Literal["gradient"]
    wrt: list[str] | None = Field(default=None, description="arguments to differentiate; default every float input")
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)


class DerivativeCheck(CheckBase):
    """A hand-written derivative against autograd of `of`."""

    kind: Literal["derivative"]
    of: str | None = Field(default=None, description="the function whose derivative this is, e.g. torch.sigmoid; "
                                                     "left out only in a student bundle, whose `expected` file holds the values")
    form: Literal["elementwise", "jacobian"] = "elementwise"
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)


class ForbidCheck(CheckBase):
    """The student's function must not reach the built-in it is asked to write."""

    kind: Literal["forbid"]
    ops: list[str] | None = Field(default=None, description="aten ops; default: the exercise's forbid list")


class DeviceCheck(CheckBase):
    """Works on CUDA; proxied on the meta device where there is no GPU."""

    kind: Literal["device"]


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
    from .refs import ReferenceError_, resolve_callable
    try:
        resolve_callable(".", dotted)
    except ReferenceError_:
        return False
    return True


Check = Annotated[
    Union[ValuesCheck, GradientCheck, DerivativeCheck, ForbidCheck, DeviceCheck, PlotCheck],
    Field(discriminator="kind"),
]

CHECK_MODELS: dict[str, type[CheckBase]] = {
    "values": ValuesCheck,
    "gradient": GradientCheck,
    "derivative": DerivativeCheck,
    "forbid": ForbidCheck,
    "device": DeviceCheck,
    "plot": PlotCheck,
}

#: Kinds whose expected values come from the exercise's `reference`.
NEEDS_REFERENCE = {"values", "gradient"}
