"""What every check kind's YAML model shares: the fields every check has, where cases come from, tensors.

Each kind's own model is grader/kinds/<kind>/model.py (found by grader.kinds.models()); the
exercise's `checks` is their union, discriminated by `kind` (grader.spec.models).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, model_validator

DType = Literal["float16", "bfloat16", "float32", "float64"]
Device = Literal["cpu", "cuda"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorInput(Strict):
    """Random tensors for one argument: one tensor per entry of `shapes`."""

    #: one shape per case, zipped across arguments: case i uses shape i of each

    shapes: list[list[NonNegativeInt]] = Field(min_length=1)
    #: [low, high] of the random floats
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

    #: the tensor as (nested) lists of numbers

    values: Any
    dtype: Literal["float", "int64"] = "float"


class Tolerance(Strict):
    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)


class CaseSource(Strict):
    """Where a check's cases come from. Leave it all out to reuse the first values check's."""

    #: argument name → random tensors for it

    inputs: dict[str, TensorInput] | None = None
    cases: list[dict[str, LiteralTensor | list | float | int]] = Field(
        default_factory=list, description="explicit cases, e.g. extreme values"
    )
    kwargs: list[dict[str, Any]] | None = Field(
        default=None, description="every case runs once per keyword set; {} means the defaults"
    )
    #: float dtypes each case runs in (default float32 and float64; float64 for gradients)
    dtypes: list[DType] | None = None
    #: cuda cases run where there is a GPU and are left out elsewhere
    devices: list[Device] = Field(default_factory=lambda: ["cpu"])

    def has_own_cases(self) -> bool:
        return self.inputs is not None or bool(self.cases)


class CheckBase(CaseSource):
    #: needed when an exercise has two checks of one kind; names the check in feedback
    name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    #: earned only when every case of the check passes
    points: PositiveFloat
    #: graded by `torchgrade grade` only, never shipped to students
    hidden: bool = False
    #: shown when this check fails and the exercise has no hint for that kind of failure (instead of hints.default)
    hint: str | None = None

    #: what the rest of the grader knows of a kind, set by the kinds that differ from these defaults:
    #: its expected values come from the exercise's `reference` (or a student bundle's `expected` file)
    needs_reference: ClassVar[bool] = False
    #: it calls the function on cases: its own `inputs`/`cases`, or an earlier check's
    needs_cases: ClassVar[bool] = False
    #: its random cases hold the points where the usual formulas break (0, −0, the kinks); grader.cases
    kink_cases: ClassVar[bool] = False
    #: one of its random cases hands the function non-contiguous views of the same numbers (grader.cases)
    strided_cases: ClassVar[bool] = False
    #: the dtypes its cases run in where the check names none (None: the case source's, else float32 and float64)
    default_dtypes: ClassVar[tuple[str, ...] | None] = None
    #: its verdicts say whether the exercise's function gives the right values: a failing gradient check's
    #: feedback tells its two causes apart by them (grader.scoring.values_verdict)
    judges_values: ClassVar[bool] = False
    #: the module whose ANSWERS dict answers an exercise of this kind, instead of a function; such an
    #: exercise has this one check (grader.spec.models.Exercise)
    answered_in: ClassVar[str | None] = None
    #: fields that give the answer away: they leave the student bundle entirely (grader.release)
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def public_fields(self) -> dict[str, Any]:
        """What the student bundle writes in place of the secret fields."""
        return {}

    def course_errors(self, exercise: Any, course_root: Path) -> Iterator[tuple[tuple, str]]:
        """What the model alone cannot see (a reference to import, the exercise's other fields): each
        problem as (path inside the check, message)."""
        return iter(())

    @property
    def label(self) -> str:
        return self.name or self.kind  # type: ignore[attr-defined]


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class InitCheckBase(CheckBase):
    """Initialiser cases: a fresh tensor per shape (the first argument) × each keyword set × dtype × device.

    The child makes the tensor itself, so these kinds take 'shapes' and 'kwargs', never 'inputs'
    or 'cases'; keyword values are plain numbers, strings or null (generators are the checks' own).
    """

    shapes: list[list[NonNegativeInt]] | None = Field(
        default=None, min_length=1, description="one tensor per shape, passed first; left out: no tensor argument")

    @model_validator(mode="after")
    def _own_cases(self) -> "InitCheckBase":
        if self.inputs is not None or self.cases:
            raise ValueError(f"a {self.kind} check makes its own tensors: give 'shapes' (and 'kwargs'), "  # type: ignore[attr-defined]
                             f"not 'inputs' or 'cases'")
        for index, kwargs in enumerate(self.kwargs or []):
            for name, value in kwargs.items():
                if name == "generator":
                    raise ValueError(f"kwargs[{index}]: 'generator' is the checks' own to pass; leave it out")
                if value is not None and not isinstance(value, (str, int, float, bool)):
                    raise ValueError(f"kwargs[{index}].{name}: must be a number, a string or null")
        return self
