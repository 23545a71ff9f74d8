"""grader.wire: plain data between grader and child, read back without trusting the bytes."""
from __future__ import annotations

import os
import pickle

import pytest
import torch

from grader import wire


@pytest.mark.parametrize("dtype", list(wire.DTYPES.values()))
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3), (1, 0, 4)])
def test_every_dtype_and_shape_comes_back_exactly(dtype, shape):
    source = (torch.randn(shape, dtype=torch.float64) * 50).to(dtype)
    back = wire.loads(wire.dumps({"t": source}))["t"]
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == source.shape
    assert torch.equal(back, source)


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
def test_one_element_expanded_with_stride_0_comes_back(shape):
    """x.new_ones(()).expand(x.shape) on a one-element x: contiguous by torch's rule, yet of stride 0."""
    source = torch.tensor(0.25).expand(shape)
    assert wire.loads(wire.dumps({"t": source}))["t"].tolist() == source.tolist()


def test_special_values_views_and_flags_survive_as_plain_values():
    x = torch.tensor([float("nan"), float("inf"), -0.0, 1e-45], dtype=torch.float32)
    strided = torch.arange(12.0).reshape(3, 4).t()[::2]
    conj = torch.tensor([1 + 2j, 3 - 1j]).conj()
    grad = torch.ones(3, requires_grad=True) * 2
    data = {"x": x, "strided": strided, "conj": conj, "grad": grad, "param": torch.nn.Parameter(torch.ones(2)),
            "nested": [1, 2.5, "s", None, True, {"k": (1, 2)}]}
    back = wire.loads(wire.dumps(data))
    assert torch.equal(back["x"].isnan(), x.isnan()) and back["x"][1] == float("inf")
    assert torch.equal(back["x"][2:].view(torch.int32), x[2:].view(torch.int32))  # -0.0 and the subnormal, bit for bit
    assert torch.equal(back["strided"], strided) and torch.equal(back["conj"], conj.resolve_conj())
    assert not back["grad"].requires_grad and type(back["param"]) is torch.Tensor
    assert back["nested"] == [1, 2.5, "s", None, True, {"k": (1, 2)}]


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize("forged", [
    pickle.dumps(_RunsCode()),
    pickle.dumps(torch.nn.Linear(2, 2)),
    pickle.dumps(torch.ones(2)),  # torch's own reduction: a class the reader does not build
    pickle.dumps(pickle.loads),
    wire.dumps(torch.ones(2)).replace(b"float32", b"float99"),
], ids=["os.system", "a module", "torch pickling", "a function", "an unknown dtype"])
def test_anything_but_plain_data_is_refused(forged):
    with pytest.raises(pickle.UnpicklingError):
        wire.loads(forged)


def test_tensor_bytes_that_do_not_match_the_shape_are_refused():
    with pytest.raises(wire.NotPlainData):
        wire._tensor("float32", (4,), b"\0" * 12)
    with pytest.raises(wire.NotPlainData):
        wire._tensor("float32", [3], b"\0" * 12)  # a shape is a tuple of ints
    with pytest.raises(wire.NotPlainData):
        wire._tensor("float32", (-1,), b"")


class _Forger(wire._Writer):
    """Writes a tensor the way a hostile child could: our constructor, then a BUILD with its own state."""

    def __init__(self, file, state):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.state = state

    def reducer_override(self, obj):
        if isinstance(obj, torch.Tensor):
            return wire._tensor, ("float32", (2,), b"\0" * 8), self.state
        return NotImplemented


def forged(state) -> bytes:
    import io
    buffer = io.BytesIO()
    _Forger(buffer, state).dump({"x": torch.zeros(2)})
    return buffer.getvalue()


@pytest.mark.parametrize("state", [
    (True, None, {}),  # requires_grad and hooks through Tensor.__setstate__
    (torch.zeros(1), 0, (10 ** 10,), (0,)),  # set_: 10^10 elements over one float, stride 0
], ids=["requires_grad", "set_ to a huge view"])
def test_a_tensor_changed_after_it_was_built_is_refused(state):
    with pytest.raises(Exception) as caught:
        wire.loads(forged(state))
    assert isinstance(caught.value, (wire.NotPlainData, RuntimeError, TypeError)), caught.value


def test_one_bytes_object_cannot_feed_many_tensors():
    """A pickle can reuse one bytes object: without a budget 1 MB would ask for gigabytes."""
    import io
    data = b"\0" * 4000

    class Shared(wire._Writer):
        def reducer_override(self, obj):
            if isinstance(obj, torch.Tensor):
                return wire._tensor, ("float32", (1000,), data)
            return NotImplemented

    buffer = io.BytesIO()
    Shared(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump([torch.ones(1) for _ in range(500)])
    assert len(buffer.getvalue()) < 100_000  # 500 tensors of 4000 bytes from one small file
    with pytest.raises(wire.NotPlainData, match="more bytes than the file"):
        wire.loads(buffer.getvalue())


def within_lines_of_wire(budget: int, call):
    """call(), failing the test if grader/wire.py runs more than `budget` lines on the way: a bound on the
    work done that no machine's speed changes."""
    import sys
    lines = 0

    def trace(frame, event, arg):
        nonlocal lines
        if frame.f_code.co_filename != wire.__file__:
            return None
        if event == "line":
            lines += 1
            if lines > budget:
                raise AssertionError(f"grader.wire ran more than {budget} lines")
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return call()
    finally:
        sys.settrace(previous)


def test_shared_and_cyclic_containers_that_unfold_to_millions_are_refused():
    nested: list = []
    for _ in range(40):
        nested = [nested, nested]
    cyclic: list = []
    cyclic.append(cyclic)
    for value in (nested, cyclic):
        with pytest.raises(wire.NotPlainData, match="unfolds to too many items|nested too deeply"):
            wire.loads(pickle.dumps(value))
    numbers = [0] * 100_000
    crafted = pickle.dumps({"status": "ok", "results": {"k": [numbers] * 20_000}})  # 240 kB, 2e9 numbers unfolded
    with pytest.raises(wire.NotPlainData, match="unfolds to too many items"):
        # refused after one pass over its opcodes (a few lines a byte), never after walking 2e9 unfolded items
        within_lines_of_wire(8 * len(crafted), lambda: wire.loads(crafted))
    shared = {"a": [1, 2]}
    assert wire.loads(pickle.dumps([shared, shared])) == [shared, shared]  # a little sharing is plain data


def test_large_plain_records_a_learner_can_make_are_accepted():
    from grader.encode import encode_value
    square = [[float(i * j) for j in range(100)] for i in range(100)]  # a function returning t.tolist()
    record = {"status": "ok", "results": {f"case{k}": {"output": encode_value(square)} for k in range(8)}}
    assert wire.loads(wire.dumps(record)) == record
    flat = {"status": "ok", "results": {"c": {"losses": [0.5] * 600_000}}}
    assert wire.loads(wire.dumps(flat)) == flat
