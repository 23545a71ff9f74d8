"""examples/kubernetes/ against the Kubernetes API's own schema (no cluster runs here: the Jobs are not run).

The schemas come inside the `kubernetes-validate` package (nothing is downloaded at test time); the
tests skip, saying so, where it is not installed.
"""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml

if importlib.util.find_spec("kubernetes_validate") is None:
    # found, not imported: importing it (and jsonschema) costs every test process about 1 CPU s, so the tests do
    pytest.skip("kubernetes-validate is not installed (pip install kubernetes-validate): "
                "the Kubernetes manifests are not checked against the API schema", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((REPO / "examples" / "kubernetes").glob("*.yaml"))
#: The oldest Kubernetes the example names (backoffLimitPerIndex, beta from 1.29) and the newest known here.
VERSIONS = ["1.29.0", "latest"]


@pytest.fixture(scope="module")
def kubernetes_validate():
    import kubernetes_validate

    return kubernetes_validate


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_the_kubernetes_manifests_are_valid_objects_of_the_kubernetes_api(manifest, version, kubernetes_validate):
    if version == "latest":
        version = kubernetes_validate.latest_version()
    assert documents(manifest)
    for document in documents(manifest):
        kubernetes_validate.validate(document, version, strict=True)    # strict: an unknown field fails too


def test_the_schema_check_refuses_a_mistyped_field_and_a_field_too_new_for_the_version(kubernetes_validate):
    (job,) = documents(REPO / "examples" / "kubernetes" / "grade-job.yaml")
    typo = copy.deepcopy(job)
    typo["spec"]["completion"] = typo["spec"].pop("completions")
    with pytest.raises(kubernetes_validate.ValidationError, match="'completion' was unexpected"):
        kubernetes_validate.validate(typo, VERSIONS[0], strict=True)
    with pytest.raises(kubernetes_validate.ValidationError, match="'backoffLimitPerIndex' was unexpected"):
        kubernetes_validate.validate(job, "1.27.0", strict=True)
