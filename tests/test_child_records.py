"""What the child writes: a result the wire cannot carry costs its own case, never the process."""
from __future__ import annotations

import torch

from grader import wire
from grader.child import sendable
from grader.encode import encode_value


def test_a_result_the_wire_cannot_carry_becomes_that_cases_error_and_the_rest_is_kept():
    good = encode_value(torch.ones(3))
    record = {"status": "ok", "results": {"a": {"output": good},
                                          "b": {"output": encode_value(torch.ones(3, dtype=torch.uint16))}}}
    back = wire.loads(sendable(record, "/nowhere"))
    assert torch.equal(back["results"]["a"]["output"]["value"], torch.ones(3))
    error = back["results"]["b"]["error"]
    assert "uint16" in str(error) and "cannot read back what your function returned" in str(error)


def test_a_record_the_wire_can_carry_is_written_as_it_is():
    record = {"status": "ok", "results": {"a": {"output": encode_value(torch.arange(4.0))}}}
    assert sendable(record, "/nowhere") == wire.dumps(record)
