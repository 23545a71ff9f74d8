"""examples/kubernetes/ against the Kubernetes API's own schema (no cluster runs here: the Jobs are not run).

The schemas come inside the `kubernetes-validate` package (nothing is downloaded at test time); the
tests skip, saying so, where it is not installed.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install kubernetes-validate): "
                                  "the Kubernetes manifests are not checked against the API schema")

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((REPO / "examples" / "kubernetes").glob("*.yaml"))
#: The oldest Kubernetes the example names (backoffLimitPerIndex, beta from 1.29) and the newest known here.
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_the_kubernetes_manifests_are_valid_objects_of_the_kubernetes_api(manifest, version):
    assert documents(manifest)
    for document in documents(manifest):
        kubernetes_validate.validate(document, version, strict=True)    # strict: an unknown field fails too


def test_the_schema_check_refuses_a_mistyped_field_and_a_field_too_new_for_the_version():
    (job,) = documents(REPO / "examples" / "kubernetes" / "grade-job.yaml")
    typo = copy.deepcopy(job)
    typo["spec"]["completion"] = typo["spec"].pop("completions")
    with pytest.raises(kubernetes_validate.ValidationError, match="'completion' was unexpected"):
        kubernetes_validate.validate(typo, VERSIONS[0], strict=True)
    with pytest.raises(kubernetes_validate.ValidationError, match="'backoffLimitPerIndex' was unexpected"):
        kubernetes_validate.validate(job, "1.27.0", strict=True)
