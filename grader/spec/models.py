"""The schema of course.yaml and of one exercise file."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from .. import kinds
from .checks import Strict
from .variants import Accepted, Mistake

#: One check of any kind, told apart by `kind`: the union of every kind folder's model (grader.kinds).
Check = Annotated[Union[tuple(kinds.models().values())], Field(discriminator="kind")]  # type: ignore[valid-type]

Identifier = str  # validated by pattern below
IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"

#: Situations an exercise may give a hint for; the checks pick the one that fits the failure.
HINT_KEYS = (
    "default", "nan", "dtype", "shape", "device", "modified_input", "graph_cut", "forbid", "error",
    "values", "gradient", "not_tensor", "in_place_grad",
)
HintKey = Literal[
    "default", "nan", "dtype", "shape", "device", "modified_input", "graph_cut", "forbid", "error",
    "values", "gradient", "not_tensor", "in_place_grad",
]

#: The kinds whose exercise is answered in a module's ANSWERS dict (answered_in on their model), and where.
ANSWERED_IN = {kind: model.answered_in for kind, model in kinds.models().items() if model.answered_in}

#: What the child looks up in a question's module. It hands probes only a callable it found there,
#: and every module has its class; the answer probe then reads the module's ANSWERS dict itself.
QUESTION_TARGET = "__class__"


class Exercise(Strict):
    #: the exercise's name in feedback and results; also the function's, unless `function` says otherwise
    id: str = Field(pattern=IDENT)
    title: str = Field(min_length=1)
    #: the submission module that holds the function (activations for activations.py)
    module: str = Field(pattern=IDENT)
    function: str | None = Field(default=None, pattern=IDENT, description="defaults to the id")
    signature: str = Field(min_length=1, description="the def line without 'def', e.g. 'sigmoid(x)'")
    #: what to implement; the starters' docstring
    statement: str = Field(min_length=1)
    reference: str | None = Field(default=None, description="torch.sigmoid or solutions/activations.py:sigmoid")
    expected: str | None = Field(
        default=None, description="a student bundle's precomputed expected values (expected/<id>.pt next to "
                                  "course.yaml), read instead of calling teacher code; written by `torchgrade release`")
    hints: dict[HintKey, str] = Field(default_factory=dict)
    forbid: list[str] = Field(default_factory=list, description="aten ops the student may not reach")
    checks: list[Check] = Field(min_length=1)
    mistakes: list[Mistake] = Field(default_factory=list, description="wrong implementations students write; "
                                    "each must lose points (torchgrade audit); never shipped to students")
    accepted: list[Accepted] = Field(default_factory=list, description="right implementations in other styles; "
                                     "each must get full marks (torchgrade audit); never shipped to students")

    @model_validator(mode="before")
    @classmethod
    def _question_defaults(cls, data: Any) -> Any:
        """A question (one check, of a kind answered in ANSWERS: question) is answered there, not by a function."""
        if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
            return data
        given = [c.get("kind") if isinstance(c, dict) else None for c in data["checks"]]
        answered = next((kind for kind in given if kind in ANSWERED_IN), None)
        if answered is None:
            return data
        if given != [answered]:
            raise ValueError(f"checks: a {answered} exercise has exactly one check, of kind {answered}")
        extra = [key for key in ("function", "signature", "reference") if key in data]
        if extra:
            raise ValueError(f"a {answered} is answered in ANSWERS, not by a function: leave out {', '.join(extra)}")
        return {"module": ANSWERED_IN[answered], **data, "function": QUESTION_TARGET,
                "signature": f"{QUESTION_TARGET}()"}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The JSON Schema says what _question_defaults does: a question exercise (one check, of kind question)
        needs no module (answers) and gives no function, signature or reference; any other needs them."""
        reference = handler(core_schema)
        schema = handler.resolve_ref_schema(reference)
        required = schema.pop("required")
        answered = sorted(ANSWERED_IN)
        kind = {"const": answered[0]} if len(answered) == 1 else {"enum": answered}
        is_question = {"properties": {"checks": {"contains": {
            "type": "object", "properties": {"kind": kind}, "required": ["kind"]}}}}
        schema["if"] = is_question
        schema["then"] = {"required": [name for name in required if name not in ("module", "signature")],
                          "properties": {"function": False, "signature": False, "reference": False,
                                         "checks": {"maxItems": 1}}}
        schema["else"] = {"required": required}
        return reference

    @property
    def function_name(self) -> str:
        return self.function or self.id

    @property
    def max_score(self) -> float:
        return float(sum(check.points for check in self.checks))


class Limits(Strict):
    """Per-exercise limits for the learner's child process."""

    #: CPU seconds per exercise: a busy machine slows a learner's code down without stopping it.
    time_s: PositiveFloat = 10.0
    #: Wall seconds per exercise, for code that sleeps or blocks instead (default: 3 × time_s, at least 30).
    wall_s: PositiveFloat | None = None
    #: address space of the child (RLIMIT_AS; RLIMIT_DATA on a GPU machine)
    memory_mb: PositiveInt = 2048
    #: stdout and stderr kept per child; the rest is read and dropped
    output_kb: PositiveInt = 64
    #: processes and threads the child may have at once
    processes: PositiveInt = 64
    #: largest file the child may write (RLIMIT_FSIZE)
    file_mb: PositiveInt = 64

    @property
    def wall_backstop_s(self) -> float:
        return self.wall_s if self.wall_s is not None else max(30.0, 3 * self.time_s)


class SandboxPolicy(Strict):
    #: on a kernel without Landlock: grade with a warning, or refuse to grade
    without_landlock: Literal["warn", "refuse"] = "warn"
    #: where a child cannot run as a user of its own (under root) or in a user namespace: warn, or refuse
    without_own_user: Literal["warn", "refuse"] = "warn"
    #: on a kernel without IPC namespaces (shared memory and semaphores shared with other processes)
    without_ipc_namespace: Literal["warn", "refuse"] = "warn"


class CourseFile(Strict):
    name: str = Field(min_length=1)
    #: every input derives from it: the same inputs on every machine
    seed: int = 0
    #: the submission's module names (activations, losses, …)
    modules: list[str] = Field(min_length=1)
    exercises: list[str] = Field(min_length=1, description="files or globs, relative to course.yaml")
    limits: Limits = Field(default_factory=Limits)
    sandbox: SandboxPolicy = Field(default_factory=SandboxPolicy)
    solutions: str = Field(default="solutions", min_length=1,
                           description="the folder of reference modules that `torchgrade audit` fills every "
                                       "module with, around the variant it grades")
