"""Every writer survives any code point: results.json, gradebook.csv, Gradescope's JSON, JUnit XML, the report."""
from __future__ import annotations

import pytest

import csv
import io
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import example, given, settings, strategies as st

from grader.report import gradescope_json, junit_xml, write_gradebook, write_results
from grader.report.class_report import render_html, render_markdown, summarise
from grader.report.files import write_atomic
from grader.report import render_class_brief
from grader.report.terminal import render_feedback, render_lines, render_table
from grader.text import spreadsheet_cell, unicode_safe
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult

#: Any code point, with the ones that broke writers (lone surrogates, XML's forbidden controls) made common.
NASTY = st.sampled_from(["\udcff", "\ud800", "\udfff", "\x00", "\x07", "\x0b", "\x1b", "\ufffe", "\uffff", "\u2028",
                         "\r", "\n", '"', "<", "&", ",", "]", ">"])
TEXT = st.text(st.one_of(st.characters(exclude_categories=()), NASTY), max_size=40)
#: A submission's name is a folder's name: any bytes but "/" and NUL, as Python decodes them (surrogateescape).
NAME = st.one_of(st.binary(min_size=1, max_size=20), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b"", b".", b"..")).map(os.fsdecode)
STATUS = st.sampled_from(["passed", "failed", "error", "skipped"])


@st.composite
def results(draw) -> SubmissionResult:
    checks = tuple(CheckResult(draw(TEXT), draw(TEXT), draw(STATUS), 0.0, 1.0, draw(TEXT), draw(st.booleans()))
                   for _ in range(draw(st.integers(1, 3))))
    exercise = ExerciseResult(draw(TEXT), draw(TEXT), checks)
    details = {"error": draw(TEXT)} if draw(st.booleans()) else {}
    return SubmissionResult(draw(NAME), (exercise,), details)


@settings(max_examples=60, deadline=None)
@given(results())
def test_results_json_is_valid_utf8_json_that_keeps_every_text_it_can(result):
    with tempfile.TemporaryDirectory() as out:
        written = json.loads(write_results(result, Path(out)).read_bytes().decode("utf-8"))
    check = result.exercises[0].checks[0]
    assert written["exercises"][0]["checks"][0]["feedback"] == unicode_safe(check.feedback)
    if result.details.get("error"):
        assert written["error"] == unicode_safe(result.details["error"])


@settings(max_examples=60, deadline=None)
@given(st.lists(results(), min_size=1, max_size=4))
def test_the_gradebook_is_a_csv_with_one_row_per_submission(batch):
    with tempfile.TemporaryDirectory() as out:
        path = write_gradebook(batch, [batch[0].exercises[0].id], Path(out) / "gradebook.csv")
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
    assert len(rows) == len(batch) + 1
    assert sorted(row[0] for row in rows[1:]) == sorted(spreadsheet_cell(r.submission) for r in batch)


@settings(max_examples=60, deadline=None)
@given(results())
def test_gradescope_json_and_junit_xml_parse_back(result):
    json.loads(json.dumps(gradescope_json(result), ensure_ascii=False).encode("utf-8"))
    root = ET.fromstring(junit_xml(result).encode("utf-8"))
    assert len(root.findall(".//testcase")) == len(result.exercises[0].checks)


#: found by this test: an exercise id that is a lone surrogate, in the class brief's "fewest full marks"
UNSAFE_EXERCISE_ID = [SubmissionResult("\x01", (ExerciseResult("\ud800", "", (
    CheckResult("", "", "passed", 0.0, 1.0, "", False),)),), {})]


@pytest.mark.integration  # starts a process
@settings(max_examples=40, deadline=None)
@given(st.lists(results(), min_size=1, max_size=3))
@example(UNSAFE_EXERCISE_ID)
def test_the_class_report_and_the_terminal_are_written_whatever_the_text(batch):
    summary = summarise(batch)
    texts = [render_html(summary), render_markdown(summary), render_lines(batch), render_class_brief(summary)]
    texts += [render_table(r) + render_feedback(r) for r in batch]
    with tempfile.TemporaryDirectory() as out:
        for index, text in enumerate(texts):
            write_atomic(Path(out) / f"{index}.txt", text)
            (Path(out) / f"{index}.txt").read_bytes().decode("utf-8")
    for text in texts[2:]:
        text.encode("utf-8")  # what the terminal prints
