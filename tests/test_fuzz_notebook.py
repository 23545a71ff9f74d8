"""The notebook reader never raises out of its boundary, and refuses only what nbformat refuses too."""
from __future__ import annotations

import copy
import functools
import importlib.util
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from grader.intake import Submission, SubmissionError, check_readable
from grader.notebook import NotebookError, notebook_modules

if importlib.util.find_spec("nbformat") is None or importlib.util.find_spec("jsonschema") is None:
    # found, not imported: importing them costs every test process about 1.5 CPU s, so the tests import them
    pytest.skip("nbformat or jsonschema is not installed", allow_module_level=True)


@functools.cache
def schema():
    """The notebook format's own JSON schema, as nbformat ships it (format 4.4: cells need no ids)."""
    import jsonschema
    import nbformat

    return jsonschema.Draft4Validator(json.loads(
        (Path(nbformat.__file__).parent / "v4" / "nbformat.v4.4.schema.json").read_text()))

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
FIELDS = ("cell_type", "metadata", "source", "outputs", "execution_count")
VALID_CELL = {"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade": False, "grade_id": "a",
                                                             "locked": False, "schema_version": 3}},
              "source": ["import torch\n", "def relu(x):\n", "    return x.clamp(min=0)\n"], "outputs": [],
              "execution_count": None}
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def notebook(cells: list) -> dict:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}


def read(data: object) -> dict[str, str] | None:
    """The reader's modules, or None when it refuses the notebook (any other exception fails the test)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "work.ipynb"
        path.write_text(json.dumps(data))
        try:
            return notebook_modules(path, ["activations"])
        except NotebookError:
            return None


@SETTINGS
@given(st.sampled_from(FIELDS), JSON)
def test_a_cell_field_of_any_shape_is_read_or_refused_as_nbformat_refuses_it(field, value):
    cell = copy.deepcopy(VALID_CELL)
    cell[field] = value
    data = notebook([VALID_CELL, cell])
    if read(data) is None:
        assert not schema().is_valid(data)


@SETTINGS
@given(JSON)
def test_any_json_document_is_read_or_refused(value):
    read(value)
    read({"cells": value})
    read({"worksheets": value})
    read(notebook([value]))


#: Any code point, with lone surrogates and NUL (which Python cannot compile) made common.
ANY_TEXT = st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(["\udcff", "\ud800", "\x00"])),
                   max_size=300)


@SETTINGS
@given(ANY_TEXT)
def test_any_text_in_a_code_cell_is_read(source):
    data = notebook([dict(copy.deepcopy(VALID_CELL), source=source)])
    assert schema().is_valid(data) and read(data) is not None


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_a_notebook_are_read_or_refused_with_a_reason(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "work.ipynb"
        path.write_bytes(raw)
        try:
            check_readable(Submission.from_path(path, ["activations"]))
        except SubmissionError as exc:
            assert "work.ipynb" in str(exc)


#: Top-level statements of the shapes a notebook holds, in any order and cell: definitions, assignments that
#: call notebook code, answers built over cells, loops, awaits; names are shared so that they depend on each other.
STATEMENTS = st.sampled_from([
    "def f(a):\n    return g(a) + K", "def g(a):\n    return a", "K = 2", "x = f(1)", "relu = make()",
    "def make():\n    return lambda v: f(v)", "relu, tanh = make(), make()", "ANSWERS = {q: None for q in 'ab'}",
    "ANSWERS['a'] = f(1)", "ANSWERS |= {'b': x}", "ANSWERS.update(c=relu)", "for i in range(2):\n    K = i",
    "x = await g(1)", "class C:\n    def __call__(self, v):\n        return x + K", "sigmoid = C()",
    "y = [f(i) for i in range(3)]", "z = f(1); w = g(2)", "STUDENT = input()", "x = 1 / 0 if False else f(0)",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(STATEMENTS, min_size=1, max_size=4).map("\n".join), max_size=6))
def test_the_module_extracted_from_any_order_of_definitions_compiles_and_imports(cells):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "work.ipynb"
        path.write_text(json.dumps(notebook([dict(copy.deepcopy(VALID_CELL), source=c) for c in cells])))
        source = notebook_modules(path, ["activations"], ["relu", "tanh", "sigmoid", "f"])["activations"]
    exec(compile(source, "activations.py", "exec"), {})
