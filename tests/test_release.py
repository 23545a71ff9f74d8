"""`torchgrade release`: a student bundle with starters and expected values, and nothing of the teacher's."""
from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from grader.checks import SpecProblem
from grader.cli import main
from grader.release import ReleaseError, write_bundle
from grader.release.answers import questions
from grader.release.public_yaml import SECRET_FIELDS, is_teacher_code, needs_expected
from grader.plan import build_plan
from grader.spec import load_course


@pytest.fixture(scope="module")
def bundle(student_bundle) -> Path:
    """The course's student bundle, released once per run (tests/conftest.py); tests that change it use a copy."""
    return student_bundle


def text_files(root: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file() and p.suffix not in (".pt", ".whl")}


def solution_statements(repo: Path) -> list[tuple[str, str]]:
    """(where, source line) of every statement in every solution function, and every entry of every
    top-level dict or list (ANSWERS), from the teacher's solutions/."""
    found = []
    for file in sorted((repo / "solutions").glob("*.py")):
        text = file.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) is not None else node.body
                for statement in body:
                    for line in ast.get_source_segment(text, statement).splitlines():
                        if line.strip():
                            found.append((f"{file.name}::{node.name}", line.strip()))
        for node in tree.body:
            value = getattr(node, "value", None)
            if isinstance(node, ast.Assign) and isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values):
                    found.append((f"{file.name}::entry", f"{ast.get_source_segment(text, key)}: "
                                                         f"{ast.get_source_segment(text, item)}"))
    return found


def test_the_cli_writes_the_bundle_and_refuses_a_folder_that_is_not_empty(bundle, repo, tmp_path):
    # the run's bundle is the command's (tests/conftest.py's student_bundle asserts that it exited 0)
    course = load_course(repo / "course.yaml")
    expected_files = {"course.yaml", "pytest.ini", "README.md", "notebook.ipynb"} | {f"{m}.py" for m in course.modules}
    assert expected_files <= {p.name for p in bundle.iterdir()}
    out = shutil.copytree(bundle, tmp_path / "bundle")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    again = CliRunner().invoke(main, ["release", "--out", str(out), "--course", str(repo / "course.yaml")])
    assert again.exit_code == 1 and "not empty" in again.output
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def bundle_lines(root: Path) -> dict[str, Path]:
    """Every line of every text file in the bundle (a notebook's cells line by line), stripped."""
    lines: dict[str, Path] = {}
    for path, text in text_files(root).items():
        if path.suffix == ".ipynb":
            text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
        for line in text.splitlines():
            lines.setdefault(line.strip(), path.relative_to(root))
    return lines


def test_the_bundle_holds_no_line_of_the_solutions(bundle, repo):
    statements = solution_statements(repo)
    assert len(statements) > 20  # the solutions really were read
    lines = bundle_lines(bundle)
    leaks = [(where, line, lines[line]) for where, line in statements if line in lines]
    assert not leaks
    assert not list(bundle.rglob("solutions*"))


def test_the_bundle_holds_no_hidden_check_nor_its_inputs(bundle, course):
    hidden = [(e.id, c) for e in course.exercises for c in e.checks if c.hidden]
    assert hidden  # the course has some to hide
    everything = b"".join(p.read_bytes() for p in bundle.rglob("*") if p.is_file())
    for _, check in hidden:
        if check.name:  # an unnamed check's label is its kind, a word every bundle uses
            assert check.name.encode() not in everything
    released = load_course(bundle / "course.yaml")
    for exercise in course.exercises:
        public = [c for c in exercise.checks if not c.hidden]
        mine = released.exercise(exercise.id).checks
        assert [c.label for c in mine] == [c.label for c in public]
        ignore = {"of", "form", *SECRET_FIELDS["question"]}  # teacher code: in the expected file; answers: nowhere
        assert [c.model_dump(exclude=ignore) for c in mine] == [c.model_dump(exclude=ignore) for c in public]
    for file in (bundle / "expected").glob("*.pt"):
        stored = torch.load(file, weights_only=True)
        assert not any(key.split("/")[0] in {c.label for _, c in hidden} for key in stored["cases"])


def test_question_answers_stay_out_of_what_students_read(bundle, course):
    questions = [e for e in course.exercises if any(c.kind == "question" for c in e.checks)]
    if not questions:
        pytest.skip("the course has no questions")
    texts = "\n".join(text_files(bundle).values())
    released = load_course(bundle / "course.yaml")
    for exercise in questions:
        raw = yaml.safe_load(next(bundle.rglob(f"{exercise.id}.yaml")).read_text())
        assert not any(set(SECRET_FIELDS["question"]) & set(check) for check in raw["checks"])
        check = exercise.checks[0]
        if check.explanation:
            assert " ".join(check.explanation.split()[:8]) not in " ".join(texts.split())
        assert released.exercise(exercise.id).checks[0].answer is None  # only the teacher's course holds it


def test_teacher_code_references_become_expected_values_and_torch_names_stay(bundle, course):
    released = load_course(bundle / "course.yaml")
    for exercise in course.exercises:
        mine = released.exercise(exercise.id)
        if needs_expected(exercise):
            assert mine.expected == f"expected/{exercise.id}.pt" and (bundle / mine.expected).is_file()
            assert not is_teacher_code(mine.reference)
            assert not any(is_teacher_code(getattr(c, "of", None)) for c in mine.checks)
        else:
            assert mine.expected is None and mine.reference == exercise.reference
    assert any(needs_expected(e) for e in course.exercises) and not all(needs_expected(e) for e in course.exercises)


def test_the_bundle_prepares_the_courses_public_checks_exactly(bundle, course, tmp_path):
    teacher = build_plan(course, hidden=False, workdir=tmp_path / "t")
    student = build_plan(load_course(bundle / "course.yaml"), hidden=False, workdir=tmp_path / "s")
    for exercise in course.exercises:
        for theirs, mine in zip(teacher.prepared[exercise.id], student.prepared[exercise.id], strict=True):
            assert [c["key"] for c in mine.calls] == [c["key"] for c in theirs.calls]
            assert mine.expected.keys() == theirs.expected.keys()
            for key in theirs.expected:
                assert_same(mine.expected[key], theirs.expected[key])


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    else:
        assert a == b


def test_expected_values_made_for_other_inputs_are_refused(bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    course_file = copy / "course.yaml"
    course_file.write_text(course_file.read_text().replace("seed: ", "seed: 1"))  # other inputs
    with pytest.raises(SpecProblem, match="computed for other inputs"):
        build_plan(load_course(course_file), hidden=False, workdir=tmp_path / "plan")


def test_starter_modules_have_the_signature_the_statement_and_raise(bundle, course):
    asked = {e.id for e in questions(course)}
    for module in course.modules:
        tree = ast.parse((bundle / f"{module}.py").read_text(encoding="utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for exercise in (e for e in course.exercises if e.module == module and e.id not in asked):
            function = functions[exercise.function_name]
            signature = ast.parse(f"def {exercise.signature}: pass").body[0]
            assert ast.dump(function.args) == ast.dump(signature.args)
            assert exercise.statement.strip() in ast.get_docstring(function)
            raised = function.body[-1]
            assert isinstance(raised, ast.Raise) and raised.exc.func.id == "NotImplementedError"


def test_the_starter_notebook_is_valid_with_a_statement_and_a_stub_per_function(bundle, course):
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(str(bundle / "notebook.ipynb"), as_version=4)
    nbformat.validate(notebook)
    cells = notebook.cells
    asked = questions(course)
    for exercise in (e for e in course.exercises if e not in asked):
        code = next(i for i, c in enumerate(cells) if c.cell_type == "code"
                    and c.source.startswith(f"def {exercise.signature}:"))
        assert "raise NotImplementedError" in cells[code].source
        assert cells[code - 1].cell_type == "markdown" and exercise.statement.strip() in cells[code - 1].source
    if asked:
        answers = {}
        exec(next(c.source for c in cells if c.cell_type == "code" and c.source.lstrip().startswith(
            ("ANSWERS", "STUDENT"))), answers)
        assert answers["ANSWERS"] == {e.id: None for e in asked}


def test_the_answers_starter_asks_every_question_and_answers_none(bundle, course):
    asked = questions(course)
    if not asked:
        pytest.skip("the course has no questions")
    names: dict = {}
    exec((bundle / f"{asked[0].module}.py").read_text(encoding="utf-8"), names)
    assert names["ANSWERS"] == {e.id: None for e in asked}
    if any(getattr(e.checks[0], "shuffle", False) for e in asked):
        assert names["STUDENT"] == ""


def test_a_public_check_that_reuses_hidden_inputs_is_not_released(tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "course.yaml").write_text("name: Tiny\nmodules: [activations]\nexercises: [exercises/*.yaml]\n")
    (tmp_path / "exercises" / "relu.yaml").write_text(
        "id: relu\ntitle: ReLU\nmodule: activations\nsignature: relu(x)\nreference: torch.relu\n"
        "statement: max(0, x)\nchecks:\n"
        "  - {kind: values, name: secret, hidden: true, points: 1, inputs: {x: {shapes: [[3]]}}}\n"
        "  - {kind: gradient, points: 1}\n")
    with pytest.raises(ReleaseError, match="reuses the inputs of the hidden check 'secret'"):
        write_bundle(load_course(tmp_path / "course.yaml"), tmp_path / "out")
    assert not (tmp_path / "out").exists()
