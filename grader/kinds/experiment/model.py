"""The experiment kind as written in exercise YAML."""
from __future__ import annotations

from typing import Any, ClassVar, Literal, Union

from pydantic import Field, PositiveFloat, model_validator

from grader.spec.checks import CheckBase, Strict


#: How a property names one element of the returned sequence: first, last, min, max, or an index.
Selector = Union[Literal["first", "last", "min", "max"], int]


class RatioProperty(Strict):
    """selected numerator / selected denominator, bounded."""

    numerator: Selector
    denominator: Selector
    below: PositiveFloat | None = None
    above: PositiveFloat | None = None
    within_factor: float | None = Field(default=None, gt=1, description="1/f ≤ ratio ≤ f")

    @model_validator(mode="after")
    def _bounded(self) -> "RatioProperty":
        if self.below is None and self.above is None and self.within_factor is None:
            raise ValueError("ratio: give below, above or within_factor")
        if self.within_factor is not None and (self.below is not None or self.above is not None):
            raise ValueError("ratio: within_factor already bounds both sides; leave out below and above")
        if self.below is not None and self.above is not None and not self.above < self.below:
            raise ValueError("ratio: above must be less than below")
        return self


class CloseToReference(Strict):
    rtol: float = Field(default=1e-5, ge=0)
    atol: float = Field(default=0.0, ge=0)


class Property(Strict):
    """One property of the returned numbers; written as a bare name (all_finite) or a one-key mapping."""

    length_equals: int | str | None = Field(default=None, description="a number, or the name of an argument")
    all_finite: Literal[True] | None = None
    all_positive: Literal[True] | None = None
    deterministic: Literal[True] | None = None
    changes_with: dict[str, Any] | None = Field(default=None, description="keyword overrides that must change the result")
    ratio: RatioProperty | None = None
    close_to_reference: CloseToReference | None = None
    distinct_layers: Literal[True] | None = None
    weight_gradient_norms: Literal[True] | None = Field(
        default=None, description="the numbers are the gradient norms of the nn.Linear weights the call ran, in order")
    hint: str | None = Field(default=None, description="shown when this property fails")

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {data: True} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The JSON Schema accepts what _bare_name does: a property that is only `true` written as its name."""
        reference = handler(core_schema)
        schema = handler.resolve_ref_schema(reference)
        mapping = dict(schema)
        bare = [name for name, field in cls.model_fields.items() if field.annotation == (Literal[True] | None)]
        schema.clear()
        schema.update(anyOf=[mapping, {"type": "string", "enum": bare}], description=mapping.pop("description", ""))
        return reference

    @model_validator(mode="after")
    def _exactly_one(self) -> "Property":
        given = [name for name in self.kinds() if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"each property is one of {', '.join(self.kinds())} (and an optional hint); "
                             f"write one per list item (got {', '.join(given) or 'none'})")
        return self

    @classmethod
    def kinds(cls) -> list[str]:
        return [name for name in cls.model_fields if name != "hint"]

    @property
    def name(self) -> str:
        return next(name for name in self.kinds() if getattr(self, name) is not None)


class PlotSpec(Strict):
    """Draw every case's numbers, the reference's beside the student's, into a feedback picture."""

    #: the picture's name in the submission's feedback folder

    file: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.png$")
    title: str = "Per-layer values"
    xlabel: str = "layer"
    ylabel: str = "value"
    #: a logarithmic y axis
    log: bool = True


class ExperimentCheck(CheckBase):
    """Call the function with each keyword set; the numbers it returns must have every property."""

    kind: Literal["experiment"]
    needs_reference: ClassVar[bool] = True
    #: what the returned numbers must show, each checked beside the reference's own run
    properties: list[Property] = Field(min_length=1)
    #: draw the numbers of every call into a feedback picture
    plot: PlotSpec | None = None

    @model_validator(mode="after")
    def _keyword_cases(self) -> "ExperimentCheck":
        if self.inputs is not None or self.cases or self.dtypes is not None or self.devices != ["cpu"]:
            raise ValueError("an experiment check runs keyword sets only: give 'kwargs', not inputs, cases, "
                             "dtypes or devices")
        if not self.kwargs:
            raise ValueError("kwargs: list the keyword sets to call the function with, e.g. "
                             "[{activation: sigmoid, depth: 10}]")
        return self
