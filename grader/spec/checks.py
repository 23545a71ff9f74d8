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

    @property
    def label(self) -> str:
        return self.name or self.kind  # type: ignore[attr-defined]


class ValuesCheck(CheckBase):
    """Student output against the reference's, element by element."""

    kind: Literal["values"]
    #: per dtype, overrides torch.testing.assert_close's rtol and atol
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)


class GradientCheck(CheckBase):
    """Autograd through the student's function against autograd through the reference."""

    kind: Literal["gradient"]
    wrt: list[str] | None = Field(default=None, description="arguments to differentiate; default every float input")
    #: per dtype, overrides torch.testing.assert_close's rtol and atol
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)


class DerivativeCheck(CheckBase):
    """A hand-written derivative against autograd of `of`."""

    kind: Literal["derivative"]
    of: str | None = Field(default=None, description="the function whose derivative this is, e.g. torch.sigmoid; "
                                                     "left out only in a student bundle, whose `expected` file holds the values")
    #: elementwise: f'(x) per element; jacobian: the matrix of a vector function
    form: Literal["elementwise", "jacobian"] = "elementwise"
    #: per dtype, overrides torch.testing.assert_close's rtol and atol
    tolerance: dict[DType, Tolerance] = Field(default_factory=dict)


class ForbidCheck(CheckBase):
    """The student's function must not reach the built-in it is asked to write."""

    kind: Literal["forbid"]
    ops: list[str] | None = Field(default=None, description="aten ops; default: the exercise's forbid list")


class DeviceCheck(CheckBase):
    """Works on CUDA; checked on a GPU simulated on the CPU where there is none."""

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


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class NumberTolerance(Strict):
    """|answer − expected| ≤ max(abs, rel × |expected|), as math.isclose."""

    abs: float = Field(default=0.0, ge=0)
    rel: float = Field(default=1e-9, ge=0)


class QuestionCheck(CheckBase):
    """A question answered in ANSWERS: choice (options), number (tolerance) or text (accepted forms)."""

    kind: Literal["question"]
    options: list[str] | None = Field(default=None, description="choice: the options, A, B, C … in this order")
    answer: Any = Field(default=None, description="choice: a letter or a list of letters; number: a number; text: the "
                                                  "canonical answer. Left out only in a student bundle, whose "
                                                  "`expected` file holds it (with accept, tolerance, explanation)")
    accept: list[str] = Field(default_factory=list, description="text: other accepted forms (synonyms)")
    tolerance: NumberTolerance | None = Field(default=None, description="number: how close counts as right")
    shuffle: bool = Field(default=False, description="choice: options in an order of each student's own")
    #: when feedback shows the expected answer and the explanation
    reveal: Literal["always", "after_grading", "never"] = "after_grading"
    #: why the answer is right; shown with it
    explanation: str | None = None
    form: Literal["option", "options", "number", "text"] | None = Field(
        default=None, description="what a well-formed answer is; a student bundle holds this instead of the answer "
                                  "(one option, a list of options, a number, a text)")

    @property
    def answer_type(self) -> str:
        if self.options is not None:
            return "choice"
        if self.answer is None and self.form is not None:
            return "number" if self.form == "number" else "text"
        return "number" if isinstance(self.answer, (int, float)) else "text"

    @property
    def several(self) -> bool:
        """A choice with several right options (a list of letters)."""
        return isinstance(self.answer, list) or (self.answer is None and self.form == "options")

    def answer_form(self) -> str:
        """What `form` says of this question's answer, read from the answer itself."""
        if self.answer_type == "choice":
            return "options" if self.several else "option"
        return self.answer_type

    @model_validator(mode="after")
    def _consistent(self) -> "QuestionCheck":
        if self.inputs is not None or self.cases or self.kwargs is not None or self.dtypes is not None \
                or self.devices != ["cpu"]:
            raise ValueError("a question takes no inputs, cases, kwargs, dtypes or devices")
        if self.answer is None:
            return self  # a student bundle: no answer, only its form (spec checks that it has one)
        if isinstance(self.answer, bool):
            raise ValueError("answer: give the right letter(s), number or text")
        kind = self.answer_type
        if kind != "choice" and self.shuffle:
            raise ValueError("shuffle applies to questions with options only")
        if kind != "text" and self.accept:
            raise ValueError("accept (other accepted forms) applies to text answers only")
        if kind != "number" and self.tolerance is not None:
            raise ValueError("tolerance applies to number answers only")
        if kind == "choice":
            _check_options(self.options or [], self.answer)
            if self.shuffle and self.hidden:
                raise ValueError("a shuffled question must be public (hidden: false): students see their own "
                                 "order of the options in `torchgrade check`")
        elif kind == "number":
            if self.answer != self.answer or self.answer in (float("inf"), float("-inf")):
                raise ValueError("answer: a number question needs a finite answer")
        elif not isinstance(self.answer, str) or not self.answer.strip():
            raise ValueError("answer: write the right letter(s) (with options), a number, or a text answer")
        return self


def _check_options(options: list[str], answer: Any) -> None:
    if not 2 <= len(options) <= len(LETTERS):
        raise ValueError(f"options: give between 2 and {len(LETTERS)} options")
    if len(set(options)) != len(options):
        raise ValueError("options: two options have the same text")
    letters = answer if isinstance(answer, list) else [answer]
    valid = LETTERS[:len(options)]
    if not letters or not all(isinstance(a, str) and len(a) == 1 and a.upper() in valid for a in letters):
        raise ValueError(f"answer: with {len(options)} options, the answer is a letter {valid[0]}–{valid[-1]} "
                         f"(or a list of letters when several are right), in the order the options are written")
    if len({a.upper() for a in letters}) != len(letters):
        raise ValueError("answer: a letter appears twice")


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


class DistributionCheck(InitCheckBase):
    """A random initialiser's values against the reference's: two-sample KS, repeats, and (uniform) exact bounds."""

    kind: Literal["distribution"]
    shapes: list[list[NonNegativeInt]] = Field(default_factory=lambda: [[256, 512], [64, 16, 3, 3]], min_length=1)
    bounds: bool = Field(default=False, description="uniform routines: inside the exact interval of the reference's "
                                                    "Tensor.uniform_(low, high) call, reaching near both ends")

    @model_validator(mode="after")
    def _big_enough(self) -> "DistributionCheck":
        import math
        for shape in self.shapes:
            if math.prod(shape) < 1000:
                raise ValueError(f"shapes: {shape} has {math.prod(shape)} elements; a distribution needs at least "
                                 f"1000 (the course uses 256 × 512 and 64 × 16 × 3 × 3)")
        return self


class InPlaceCheck(InitCheckBase):
    """Fills the nn.Parameter it is given in place, returns it, no autograd history; any dtype and device."""

    kind: Literal["in_place"]
    shapes: list[list[NonNegativeInt]] = Field(default_factory=lambda: [[32, 16], [8, 4, 3, 3]], min_length=1)
    parameter: bool = Field(default=True, description="hand over an nn.Parameter that requires grad")


class GeneratorCheck(InitCheckBase):
    """Honours `generator`: equal seeds, equal values; other seeds, other values; the global RNG untouched."""

    kind: Literal["generator"]
    shapes: list[list[NonNegativeInt]] = Field(default_factory=lambda: [[64, 32]], min_length=1)


class ExactCheck(InitCheckBase):
    """Deterministic routines against the reference exactly: filled values, ints, floats, or the same exception."""

    kind: Literal["exact"]


class ForbidFunctionCheck(InitCheckBase):
    """The function must not run the named Python functions (torch.nn.init's routine it is asked to write)."""

    kind: Literal["forbid_function"]
    functions: list[str] = Field(min_length=1, description="dotted names, e.g. torch.nn.init.kaiming_normal_")

    @model_validator(mode="after")
    def _python_functions(self) -> "ForbidFunctionCheck":
        import inspect
        from .refs import ReferenceError_, resolve_callable
        for index, name in enumerate(self.functions):
            try:
                function = inspect.unwrap(resolve_callable(".", name))
            except ReferenceError_:
                raise ValueError(f"functions[{index}]: cannot import '{name}' (e.g. torch.nn.init.zeros_)") from None
            if not hasattr(function, "__code__"):
                raise ValueError(f"functions[{index}]: '{name}' is not a Python function; forbid aten operators "
                                 f"with the 'forbid' kind")
        return self


Check = Annotated[
    Union[ValuesCheck, GradientCheck, DerivativeCheck, ForbidCheck, DeviceCheck, PlotCheck, QuestionCheck,
          ExperimentCheck, DistributionCheck, InPlaceCheck, GeneratorCheck, ExactCheck, ForbidFunctionCheck],
    Field(discriminator="kind"),
]

CHECK_MODELS: dict[str, type[CheckBase]] = {
    "values": ValuesCheck,
    "gradient": GradientCheck,
    "derivative": DerivativeCheck,
    "forbid": ForbidCheck,
    "device": DeviceCheck,
    "plot": PlotCheck,
    "question": QuestionCheck,
    "experiment": ExperimentCheck,
    "distribution": DistributionCheck,
    "in_place": InPlaceCheck,
    "generator": GeneratorCheck,
    "exact": ExactCheck,
    "forbid_function": ForbidFunctionCheck,
}

#: Kinds whose expected values come from the exercise's `reference`.
NEEDS_REFERENCE = {"values", "gradient", "experiment", "distribution", "exact"}
