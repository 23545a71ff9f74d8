"""The suite's layers (tests/conftest.py, docs/explanation/tests.md): every test in exactly one, and the
unit layer starts no process."""
from __future__ import annotations

import os
import subprocess

import pytest

from conftest import LAYER_OF_FILE, LAYERS, NOT_UNIT_FILES, REPO


def test_every_collected_test_is_in_exactly_one_layer(request):
    for item in request.session.items:
        layers = [name for name in LAYERS if item.get_closest_marker(name) is not None]
        assert len(layers) == 1, (item.nodeid, layers)


def test_the_layer_tables_name_files_of_the_suite():
    named = set(LAYER_OF_FILE) | NOT_UNIT_FILES
    assert not {name for name in named if not (REPO / "tests" / name).is_file()}


def test_a_unit_test_that_starts_a_process_fails(request):
    assert request.node.get_closest_marker("unit") is not None
    with pytest.raises(AssertionError, match="a unit test started a process"):
        subprocess.run(["true"], check=False)
    with pytest.raises(AssertionError, match="a unit test started a process"):
        pid = os.fork()
        if pid == 0:  # only were the guard gone: the child ends at once
            os._exit(0)
        os.waitpid(pid, 0)
