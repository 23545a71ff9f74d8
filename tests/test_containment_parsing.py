"""What the grader parses from a submission in its own process is bounded before the work.

A PNG's dimensions are checked before it is decoded, and it is decoded at a bounded cost per pixel;
a record's unpickled size is estimated from its opcodes before it is unpickled, against a budget
shared by all the records of one submission. A crafted file costs its own exercise, never the
grader's memory.
"""
from __future__ import annotations

import io
import pickle
import resource
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from grader import wire
from grader.kinds.plot.judge import png as plot_png
from test_sandbox_course import EXERCISES, submission, write_course

MB = 1 << 20


def _png(width: int, height: int, mode: str = "1") -> bytes:
    from PIL import Image, ImageDraw
    image = Image.new(mode, (width, height), "white")
    ImageDraw.Draw(image).line([(0, 0), (width - 1, height - 1)], fill="black", width=9)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_huge_png_is_refused_from_its_header_before_decoding(monkeypatch):
    """6300 × 6300 pixels in a few kB (it decoded to 2.2 GB in the grader): refused with the numbers the
    student needs, and Pillow never opens it."""
    data = _png(6300, 6300)
    assert len(data) < 100_000

    def never(*args, **kwargs):
        raise AssertionError("decoded")

    from PIL import Image
    monkeypatch.setattr(Image, "open", never)
    png, problem = plot_png.read_png(data)
    assert png is None
    assert "6300 × 6300" in problem and "16 million" in problem and "lower dpi" in problem


def test_a_png_whose_header_lies_about_its_size_is_damaged():
    data = bytearray(_png(300, 200))
    data[16:24] = (200).to_bytes(4, "big") + (300).to_bytes(4, "big")  # the IHDR swapped (its CRC is then wrong too)
    png, problem = plot_png.read_png(bytes(data))
    assert png is None and "damaged" in problem


def test_the_largest_png_read_costs_its_rgb_and_a_band():
    """At the bound, the arrays made besides Pillow's decoded image (at most 4 bytes a pixel, not traced
    here) are the RGB image judged (3 bytes a pixel) and one band of rows: no float copy of the whole."""
    data = _png(4000, 4000, "RGBA")
    tracemalloc.start()
    try:
        png, problem = plot_png.read_png(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problem is None and png.rgb.shape == (4000, 4000, 3)
    assert peak < 3 * 4000 * 4000 + 48 * MB  # the band, and the blank check's sample of a million pixels


def test_composing_over_white_a_band_at_a_time_gives_the_whole_images_pixels():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (600, 300, 4), dtype=np.uint8)
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    png, _ = plot_png.read_png(buffer.getvalue())
    whole = rgba.astype(np.float32)
    alpha = whole[..., 3:4] / 255.0
    assert np.array_equal(png.rgb, (whole[..., :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8))


def _empty_dicts(count: int) -> bytes:
    """A pickle of a list of `count` empty dicts: 1 byte each in the file, a 64-byte dict each unpickled."""
    body = bytearray(b"\x80\x05]")  # PROTO 5, EMPTY_LIST
    for start in range(0, count, 1000):
        body += b"(" + b"}" * min(1000, count - start) + b"e"  # MARK, EMPTY_DICT …, APPENDS
    return bytes(body + b".")


@pytest.mark.slow  # a 20 MB record read under tracemalloc
def test_a_record_that_would_unfold_to_gigabytes_is_refused_before_unpickling():
    data = _empty_dicts(20_000_000)  # 20 MB; unpickled: 1.5 GB
    tracemalloc.start()
    try:
        with pytest.raises(wire.NotPlainData, match="more than"):
            wire.loads(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB


def test_a_record_holding_what_plain_data_never_holds_is_refused_before_unpickling():
    for value in ({1, 2}, frozenset({1}), bytearray(b"x")):
        with pytest.raises(wire.NotPlainData, match="opcode"):
            wire.loads(pickle.dumps(value, protocol=5))


def test_the_records_of_one_submission_share_one_budget():
    """Each record fits alone; together they pass the budget, and the one that passes it is refused."""
    record = wire.dumps({"values": [float(i) for i in range(50_000)]})
    alone = wire.estimated_cost(record, 1 << 40)
    budget = wire.Budget(total=int(alone * 2.5))
    wire.loads(record, budget=budget)
    wire.loads(record, budget=budget)
    with pytest.raises(wire.NotPlainData):
        wire.loads(record, budget=budget)


@pytest.mark.slow  # records unpickled under tracemalloc
def test_the_estimate_is_not_below_what_unpickling_holds():
    for value in ({"a": [float(i) for i in range(100_000)]}, [[i, str(i)] for i in range(50_000)],
                  {str(i): {"x": None, "y": True} for i in range(20_000)}):
        data = wire.dumps(value)
        tracemalloc.start()
        try:
            wire.loads(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert wire.estimated_cost(data, 1 << 40) >= peak


def test_a_huge_record_costs_its_exercises_and_not_the_graders_memory(grade_files, tmp_path):
    """The child saves 40 MB of empty dicts as its record (3 GB unpickled): its exercises score an error,
    the grader's peak memory does not rise by half a gigabyte."""
    tiny = write_course(tmp_path / "course")
    code = """
import grader.wire
def _dumps(value):
    body = bytearray(b"\\x80\\x05]")
    for _ in range(40_000):
        body += b"(" + b"}" * 1000 + b"e"
    return bytes(body + b".")
grader.wire.dumps = _dumps
"""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = grade_files(submission(code), exercises=EXERCISES, course=tiny, name="mallory")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for exercise in result.exercises:
        if exercise.id in ("sigmoid", "tanh"):
            assert {c.status for c in exercise.checks} == {"error"}, exercise.id
            assert "too large for the grader to read" in exercise.checks[0].feedback
    assert after - before < 512 * MB


def test_reading_a_submissions_records_stops_at_its_budget_whatever_the_opcodes():
    """Opcodes that hold nothing once read (a run of STACK_GLOBAL) still count, so a submission's files
    cannot make the grader read opcodes without end."""
    data = b"\x80\x05" + b"\x93" * 200_000
    budget = wire.Budget(total=1 * MB)
    with pytest.raises(wire.NotPlainData, match="more than"):
        wire.loads(data, budget=budget)
    with pytest.raises(wire.NotPlainData, match="more than"):
        wire.loads(wire.dumps({"a": 1}), budget=budget)  # nothing is left for the next record


def test_a_record_read_early_is_read_once_and_charged_to_the_submissions_budget_like_any_other(tmp_path):
    """Reading early (to judge while the child runs) has a budget of its own; the end of the grading charges
    every record to the submission's budget, read early or not, so what it refuses never depends on timing."""
    from types import SimpleNamespace

    from grader.judge import EarlyVerdicts
    from grader.records import read_record as _read_record
    file = tmp_path / f"relu{wire.SUFFIX}"
    file.write_bytes(wire.dumps({"status": "ok", "results": {"c": {"output": [0.5] * 100_000}}}))
    early_budget = wire.Budget()
    plan = SimpleNamespace(exercises=[SimpleNamespace(id="relu")])  # judging it raises: not a real plan
    early = EarlyVerdicts(plan, True, early_budget)  # type: ignore[arg-type]
    early.offer("relu", file)
    assert early.record("relu") is not None and early_budget.left < wire.MAX_COST  # once its judging is done
    after_early = early_budget.left
    at_the_end, fresh = wire.Budget(), wire.Budget()
    final = _read_record(file, early.record("relu"), at_the_end)  # the end of the child: the same bytes
    assert final is early.record("relu") and early_budget.left == after_early
    _read_record(file, None, fresh)
    assert at_the_end.left == fresh.left < wire.MAX_COST  # charged as if it had not been read early


def test_an_exercises_huge_results_cost_only_that_exercise(grade_files, monkeypatch):
    """Each exercise's record has a memory budget of its own: relu's 8 MB result is refused under a 4 MB budget;
    tanh, after it in the same module, and the losses module keep full marks, in check and grade alike."""
    monkeypatch.setattr(wire, "MAX_COST", 4 * MB)
    solutions = Path(__file__).resolve().parents[1] / "solutions"
    activations = (solutions / "activations.py").read_text() + "\n\ndef relu(x):\n    return torch.zeros(2_000_000)\n"
    for hidden in (False, True):
        result = grade_files({"activations.py": activations, "losses.py": (solutions / "losses.py").read_text()},
                             exercises=["relu", "tanh", "bce_loss", "cross_entropy"], hidden=hidden,
                             name=f"hoarder-{hidden}")
        relu = next(e for e in result.exercises if e.id == "relu")
        assert "too large for the grader to read (more than 4 MB for this exercise)" in relu.checks[0].feedback
        assert all(e.score == e.max_score > 0 for e in result.exercises if e.id != "relu"), hidden
