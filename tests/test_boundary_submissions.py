"""One bad submission costs only itself: each way a submission once stopped a class's run, one test."""
from __future__ import annotations

import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from boundary_kit import (BAD_KINDS, deep_folders, enormous_expression, good, metadata_list, non_utf8_name, notebook,
                          source_numbers)
from grader.batch import WorkerPool, find_pending, grade_class, grade_many, grading_options
from grader.intake import (MAX_ENTRIES, RESERVED_NAMES, Submission, SubmissionError, check_readable,
                           stage_submission, submission_files)
from grader.notebook import MAX_CELL_CHARS, MAX_JSON_VALUES, NotebookError, notebook_modules
from grader.report import gradescope_json, junit_xml, write_gradebook, write_results
from grader.resume import SIDECAR, load_result, submission_key
from grader.scoring import CheckResult, ExerciseResult, SubmissionResult

MODULES = ("activations", "losses")


def refused_notebook(path: Path) -> str:
    with pytest.raises(SubmissionError) as caught:
        check_readable(Submission.from_path(path, MODULES))
    return str(caught.value)


def test_a_cell_whose_metadata_is_a_list_is_refused_naming_the_cell(tmp_path):
    message = refused_notebook(metadata_list(tmp_path))
    assert "cell 2 has metadata that is an empty list, not an object" in message and "nbformat would refuse" in message


def test_a_cell_whose_source_is_a_list_of_numbers_is_refused_naming_the_cell(tmp_path):
    message = refused_notebook(source_numbers(tmp_path))
    assert "cell 1 has a source that is a list (of int)" in message


def test_nbgrader_metadata_that_is_not_an_object_leaves_the_cell_the_students(tmp_path):
    path = BAD_KINDS["nbgrader_string"](tmp_path)
    check_readable(Submission.from_path(path, MODULES))
    assert "def sigmoid_grad" in notebook_modules(path, list(MODULES))["activations"]


def test_a_cell_too_deeply_nested_to_parse_costs_only_that_cell(tmp_path):
    path = enormous_expression(tmp_path)
    source = notebook_modules(path, ["activations"])["activations"]
    assert "def sigmoid_grad(x):\n    s = torch.sigmoid(x)" in source and "1+1+1" not in source


def test_a_cell_larger_than_the_bound_is_not_parsed_and_its_functions_say_why(tmp_path):
    path = notebook(["import torch\n", "def relu(x):\n    return x\n" + "y = 1\n" * MAX_CELL_CHARS],
                    tmp_path / "big.ipynb")
    namespace: dict = {}
    exec(notebook_modules(path, ["activations"])["activations"], namespace)
    with pytest.raises(SyntaxError, match="cell 2 was not read .*more than 100,000 characters"):
        namespace["relu"](1)


def test_a_notebook_with_more_json_values_than_the_bound_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "many.ipynb"
    path.write_bytes(b'{"cells": [' + b"[]," * MAX_JSON_VALUES + b"[]]}")
    monkeypatch.setattr("grader.notebook.json.loads", lambda *_: pytest.fail("parsed a notebook over the bound"))
    with pytest.raises(NotebookError, match="more than 2,000,000 values"):
        notebook_modules(path, ["activations"])


def test_a_file_name_that_is_not_utf8_is_hashed_staged_and_shown_escaped(tmp_path):
    sub = Submission.from_path(non_utf8_name(tmp_path))
    names = [f.relative for f in submission_files(sub)]
    assert b"r\xe9sum\xe9.py" in names
    assert len(submission_key(sub)) == 64
    staged = stage_submission(sub, tmp_path / "staged")
    assert os.path.exists(os.fsencode(staged) + b"/r\xe9sum\xe9.py")


def test_folders_nested_beyond_the_bound_are_not_entered(tmp_path):
    sub = Submission.from_path(deep_folders(tmp_path))
    assert len(submission_key(sub)) == 64
    assert {f.relative for f in submission_files(sub)} >= {b"activations.py", b"losses.py"}


def test_a_submission_with_too_many_files_is_refused_with_a_reason(tmp_path):
    folder = tmp_path / "hoard"
    folder.mkdir()
    for index in range(MAX_ENTRIES + 1):
        (folder / f"f{index}.txt").touch()
    with pytest.raises(SubmissionError, match="more than 5000 files and folders"):
        submission_files(Submission.from_path(folder))


def test_symlinks_and_pipes_are_never_read(tmp_path):
    folder = good(tmp_path, "links")
    (folder / "secret.py").symlink_to("/etc/passwd")
    os.mkfifo(folder / "pipe.py")
    names = {f.relative for f in submission_files(Submission.from_path(folder))}
    assert b"secret.py" not in names and b"pipe.py" not in names


@pytest.mark.parametrize("reserved", sorted(RESERVED_NAMES) + [".hidden"])
def test_a_submission_named_like_an_output_file_is_renamed_and_the_teacher_told(tmp_path, reserved):
    sub = Submission.from_path(good(tmp_path, reserved))
    assert sub.name == f"submission-{reserved}" and reserved in sub.note


def result_with(text: str, name: str = "ann", error: str | None = None) -> SubmissionResult:
    check = CheckResult("values", "values", "failed", 0.0, 1.0, text)
    return SubmissionResult(name, (ExerciseResult("relu", "ReLU", (check,)),), {"error": error} if error else {})


NASTY = "answer \udcff and \ud800, bell \x07, nul \x00, form \x0c, \ufffe"


def test_every_writer_survives_lone_surrogates_and_control_characters(tmp_path):
    result = result_with(NASTY, name="b\udce9n", error=NASTY)
    path = write_results(result, tmp_path)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert "\\xff" in written["exercises"][0]["checks"][0]["feedback"] and written["error"]
    write_gradebook([result], ["relu"], tmp_path / "gradebook.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "gradebook.csv").read_text(encoding="utf-8"))))
    assert rows[1][0] == "b\\xe9n"
    json.loads(json.dumps(gradescope_json(result), ensure_ascii=False).encode("utf-8"))
    root = ET.fromstring(junit_xml(result).encode("utf-8"))
    assert "\\x07" in root.find(".//failure").text


def test_results_of_a_submission_that_could_not_be_graded_say_why_at_the_top(tmp_path):
    write_results(result_with("x", error="the notebook's cell 3 …"), tmp_path)
    assert json.loads((tmp_path / "ann" / "results.json").read_text())["error"] == "the notebook's cell 3 …"
    assert load_result(tmp_path / "ann").details["error"] == "the notebook's cell 3 …"


def folders(tmp_path: Path, names: list[str]) -> list[Submission]:
    return [Submission.from_path(good(tmp_path / "subs", name, "examples/starter")) for name in names]


def test_an_exception_anywhere_in_one_grading_costs_only_that_submission(tmp_path, plans, server, monkeypatch):
    import grader.batch as batch
    real = batch.grade_submission

    def grade(plan, submission, *args, **kwargs):
        if submission.name == "ben":
            raise KeyError("a grader bug")
        return real(plan, submission, *args, **kwargs)

    monkeypatch.setattr(batch, "grade_submission", grade)
    results = grade_many(plans(("relu",), True), folders(tmp_path, ["ann", "ben", "cat"]), pool=WorkerPool.of([server]))
    assert [r.submission for r in results] == ["ann", "ben", "cat"]
    assert "error" not in results[0].details and "error" not in results[2].details
    assert "KeyError" in results[1].details["error"] and "fault in the grader" in results[1].details["error"]
    assert {c.status for e in results[1].exercises for c in e.checks} == {"error"}


def test_a_result_that_cannot_be_written_becomes_one_that_says_so(tmp_path, plans, server):
    written: list[SubmissionResult] = []

    def write(result: SubmissionResult) -> None:
        if result.submission == "ann" and "error" not in result.details:
            raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")
        written.append(result)

    results = grade_many(plans(("relu",), True), folders(tmp_path, ["ann", "ben"]), pool=WorkerPool.of([server]),
                         on_result=write)
    assert "writing its results failed" in results[0].details["error"]
    assert [r.submission for r in written] == ["ann", "ben"] and "error" not in results[1].details


def test_a_submission_that_could_not_be_graded_gets_no_key_and_is_counted(tmp_path, plans, server, course):
    subs = folders(tmp_path, ["ann"]) + [Submission.from_path(source_numbers(tmp_path / "subs").parent, course.modules)]
    options = grading_options(course, hidden=True, exercises=["relu"])
    pending = find_pending(course, subs, tmp_path / "out", options=options)
    run = grade_class(plans(("relu",), True), pending, tmp_path / "out", jobs=1, pool=WorkerPool.of([server]),
                      quiet=True)
    assert run.ungradable == ["source-numbers"] and run.not_graded == ["source-numbers"]
    assert (tmp_path / "out" / "ann" / SIDECAR).is_file()
    assert not (tmp_path / "out" / "source-numbers" / SIDECAR).exists()
    assert "source-numbers,0" in (tmp_path / "out" / "gradebook.csv").read_text()
    again = find_pending(course, subs, tmp_path / "out", options=options)
    assert [s.name for s in again.todo] == ["source-numbers"]


def test_a_name_that_is_not_utf8_has_a_shard_like_any_other():
    from grader.shard import shard_of
    name = os.fsdecode(b"caf\xe9")
    assert shard_of(name, 8) == shard_of(name, 8) and 1 <= shard_of(name, 8) <= 8
    assert shard_of("ann", 8) == shard_of(os.fsdecode(b"ann"), 8)


def test_merging_shards_keeps_a_non_utf8_submission_folder_as_it_is(tmp_path):
    from grader.resume import write_sidecar
    from grader.shard import Shard, merge, write_record
    name = os.fsdecode(b"caf\xe9")
    write_results(result_with("x", name=name), tmp_path / "shard1")
    write_sidecar(tmp_path / "shard1" / name, "key", "course-a", {})
    write_record(tmp_path / "shard1", Shard(1, 1), [name], "course-a", complete=True, exercise_ids=["relu"])
    merged = merge([tmp_path / "shard1"], tmp_path / "merged")
    assert (tmp_path / "merged" / name / "results.json").is_file()
    assert "caf\\xe9" in merged.gradebook.read_text()


def test_a_module_sixteen_folders_deep_is_staged_and_one_deeper_is_not(tmp_path):
    from grader.intake import MAX_DEPTH
    folder = tmp_path / "nested"
    inner = folder.joinpath(*["p"] * MAX_DEPTH)
    inner.mkdir(parents=True)
    (inner / "kept.py").write_text("x = 1\n")
    (inner / "q").mkdir()
    (inner / "q" / "dropped.py").write_text("x = 1\n")
    names = {f.relative for f in submission_files(Submission.from_path(folder))}
    assert names == {b"p/" * MAX_DEPTH + b"kept.py"}


def test_a_lone_surrogate_in_a_notebook_answer_is_kept_as_that_character(tmp_path):
    path = notebook(['ANSWERS = {"why": "bad \udcff byte"}\n'], tmp_path / "answers.ipynb")  # the character itself
    namespace: dict = {}
    exec(notebook_modules(path, ["answers"])["answers"], namespace)
    assert namespace["ANSWERS"] == {"why": "bad \udcff byte"}


def test_a_module_passed_over_says_why_instead_of_not_submitted(tmp_path):
    from grader.intake import MAX_FILE_BYTES, unread_module
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "activations.py").symlink_to(Path(__file__).parent.parent / "solutions" / "activations.py")
    (folder / "losses.py").write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    (folder / "plots.py").write_text("x = 1\n")
    submission = Submission.from_path(folder)
    assert "symbolic link" in unread_module(submission, "activations")
    assert "larger than 5 MB" in unread_module(submission, "losses")
    assert unread_module(submission, "plots") is None and unread_module(submission, "answers") is None


def test_a_name_cannot_fake_a_line_of_the_run_or_a_formula_in_the_gradebook(tmp_path):
    from grader.report import render_lines
    faked = result_with("x", name="eve\n[3/3] mallory: 249.5/249.5")
    formula = result_with("x", name='=HYPERLINK("http://x","y")')
    lines = render_lines([faked, formula]).splitlines()
    assert len(lines) == 3 and not any(line.startswith("[3/3]") for line in lines)
    write_gradebook([faked, formula], ["relu"], tmp_path / "gradebook.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "gradebook.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 3 and rows[1][0].startswith("'=HYPERLINK") and rows[2][0] == "eve\\x0a[3/3] mallory: 249.5/249.5"
