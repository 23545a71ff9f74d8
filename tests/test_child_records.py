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


def test_results_too_large_together_lose_the_largest_cases_first_and_say_how_large():
    """Ten results of 1 MB and one of 3 MB against a 6 MB file: the largest go until the rest fit, and each
    says what it came to, what the exercise's came to and what the grader takes back."""
    record = {"status": "ok", "results": {f"c{i}": {"output": encode_value(torch.zeros(2**18))} for i in range(10)}}
    record["results"]["big"] = {"output": encode_value(torch.zeros(3 * 2**18))}
    data = sendable(record, "/nowhere", limit=6 * 2**20)
    assert len(data) <= 6 * 2**20
    back = wire.loads(data)["results"]
    lost = sorted(key for key, value in back.items() if "error" in value)
    assert "big" in lost and len(lost) < 11  # the largest first, and only as many as needed
    words = str(back["big"]["error"])
    assert "(3.0 MB)" in words and "13 MB in all, more than the 6 MB the grader takes back for one exercise" in words
    assert all("13 MB in all" in str(back[key]["error"]) for key in lost)  # every refused case: the same total
    assert all(torch.equal(back[key]["output"]["value"], torch.zeros(2**18)) for key in back if key not in lost)


def test_a_result_that_fits_alone_is_never_said_to_be_larger_than_the_limit():
    record = {"status": "ok", "results": {f"c{i}": {"output": encode_value(torch.zeros(2**18))} for i in range(8)}}
    back = wire.loads(sendable(record, "/nowhere", limit=4 * 2**20))["results"]
    for value in back.values():
        if "error" in value:
            assert "(1.0 MB)" in str(value["error"]) and "more than the 4 MB" in str(value["error"])
