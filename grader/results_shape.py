"""The shape of results.json, as typed dicts: what a course platform may rely on.

`torchgrade grade` writes one results.json per submission (grader.report.results_json, from
grader.scoring's to_json). Fields may be added, never renamed or removed; a reader must accept fields it
does not know. `grader.schemas` turns these types into the published JSON Schema
(docs/reference/schemas/results.json, described in docs/reference/results-schema.md).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, with_config
from typing_extensions import NotRequired, TypedDict

Status = Literal["passed", "failed", "error", "skipped"]
Points = Annotated[float, Field(ge=0)]


@with_config(ConfigDict(extra="allow"))
class CheckJson(TypedDict):
    """One check: one promise about the exercise, worth its points only when every case passes."""

    name: Annotated[str, Field(description="the check's name in the exercise YAML (its kind, unless named)")]
    status: Annotated[Status, Field(description="passed; failed (wrong, or not submitted); error (it raised, "
                                                "crashed or was stopped); skipped (no case runs on this machine)")]
    score: Annotated[Points, Field(description="the points earned: max_score when passed, else 0")]
    max_score: Points
    feedback: Annotated[str, Field(description="for the student: the first failing case, expected against got, "
                                               "and the exercise's hint")]
    mistake: NotRequired[Annotated[str, Field(description="the id of the catalogued mistake the failure matched")]]


@with_config(ConfigDict(extra="allow"))
class ExerciseJson(TypedDict):
    """One exercise: the sum of its checks."""

    id: Annotated[str, Field(description="the exercise's id (the function's name, or the question's id)")]
    score: Points
    max_score: Points
    checks: list[CheckJson]


@with_config(ConfigDict(extra="allow", title="results.json"))
class ResultsJson(TypedDict):
    """A submission's results: `DIR/<submission>/results.json` as written by `torchgrade grade`."""

    submission: Annotated[str, Field(description="the submission's folder (or notebook) name")]
    score: Points
    max_score: Annotated[Points, Field(description="the course's maximum: the same on every machine")]
    exercises: list[ExerciseJson]
    error: NotRequired[Annotated[str, Field(description="present only when the submission could not be graded: "
                                                        "why, in words a teacher can act on")]]
