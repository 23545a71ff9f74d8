"""Feedback that names the mistake: a failing case's outputs matched against the catalogue's mistakes."""
from __future__ import annotations

import json
import re

import torch

from grader.scoring import result_from_json


def check_named(result, exercise: str, check: str):
    (ex,) = [e for e in result.exercises if e.id == exercise]
    return next(c for c in ex.checks if c.name == check)


def test_a_failing_case_that_matches_a_mistake_puts_its_words_first(grade_files, course):
    # written differently from the catalogue's `1 - tanh(x)`, with the same outputs
    result = grade_files({"activations.py": """
        import torch
        def tanh_grad(x):
            e = torch.exp(-2 * x.abs())
            return 1 - torch.sign(x) * (1 - e) / (1 + e)
        """}, exercises=["tanh_grad"])
    values = check_named(result, "tanh_grad", "values")
    assert values.status == "failed" and values.mistake == "square_missing"
    words = next(m.feedback for m in course.exercise("tanh_grad").mistakes if m.id == "square_missing")
    assert values.feedback.startswith(words.strip())
    assert "First failing case" in values.feedback  # the case and the numbers still follow


def test_results_json_carries_the_mistakes_id_and_reads_it_back(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def tanh_grad(x):
            t = torch.tanh(x)
            return t * t
        """}, exercises=["tanh_grad"])
    data = json.loads(json.dumps(result.to_json()))
    checks = {c["name"]: c for c in data["exercises"][0]["checks"]}
    assert checks["values"]["mistake"] == "tanh_squared"
    assert "mistake" not in checks["device"]  # a passing check names no mistake
    assert check_named(result_from_json(data), "tanh_grad", "values").mistake == "tanh_squared"


def test_a_wrong_gradient_is_matched_on_the_gradients(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def sigmoid(x):
            return 1.0 / (1.0 + (-x).exp())
        """}, exercises=["sigmoid"])
    gradient = check_named(result, "sigmoid", "stable_gradient")
    assert gradient.status == "failed" and gradient.mistake == "naive_nan_gradient"
    assert gradient.feedback.startswith("Your values match 1 / (1 + e^(−x))")


def test_a_dtype_mistake_is_named_though_its_numbers_are_right(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def relu_grad(x):
            return torch.where(x > 0, 1.0, 0.0)
        """}, exercises=["relu_grad"])
    values = check_named(result, "relu_grad", "values")
    assert values.status == "failed" and values.mistake == "always_float32"


def test_a_failure_that_matches_no_mistake_names_none(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def tanh_grad(x):
            t = torch.exp(-2 * x.abs())
            return 3 * (1 - ((1 - t) / (1 + t)) ** 2)
        """}, exercises=["tanh_grad"])
    values = check_named(result, "tanh_grad", "values")
    assert values.status == "failed" and values.mistake is None
    assert "mistake" not in values.to_json()
    assert re.match(r"\d+ of \d+ cases failed", values.feedback)  # nothing put before the count


def test_right_work_names_no_mistake(grade_files, repo):
    result = grade_files({"activations.py": (repo / "solutions" / "activations.py").read_text()},
                         exercises=["tanh_grad", "sigmoid"])
    assert all(c.mistake is None and c.status == "passed" for e in result.exercises for c in e.checks)


def test_mistake_outputs_are_computed_once_in_the_plan(plans):
    plan = plans(("tanh_grad",), True)
    outputs = plan.mistakes["tanh_grad"]
    assert outputs and all(isinstance(k, str) and "/" in k for k in outputs)
    ids = {mistake_id for entries in outputs.values() for mistake_id, _ in entries}
    assert {"square_missing", "tanh_squared", "sigmoid_pattern"} <= ids


def test_the_catalogues_wrong_code_prints_no_warning_to_the_student(course):
    """prelu's leaky_relu_in_disguise makes torch warn while its outputs are computed for the plan: a
    student's `check` must not show the grader's own catalogue talking."""
    import warnings

    from grader.checks import Context
    from grader.checks.mistakes import mistake_outputs
    from grader import kinds
    exercise = course.exercise("prelu")
    ctx = Context(course=course, hidden=True)
    prepared = [kinds.judge(c.kind).prepare(ctx, exercise, c) for c in exercise.checks]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = mistake_outputs(ctx, exercise, prepared)
    assert outputs and not [w for w in caught if "mistake" in str(w.filename)], [str(w.message) for w in caught]


def test_a_result_the_matcher_cannot_read_names_no_mistake_and_keeps_its_verdict(plans):
    from grader.checks.mistakes import matching_mistake
    plan = plans(("tanh_grad",), True)
    prepared = plan.prepared["tanh_grad"][0]
    case = prepared.cases[0]
    exercise = prepared.exercise
    outputs = plan.mistakes["tanh_grad"]
    for hostile in ({"output": {"kind": "tensor", "value": "not a tensor"}}, {"output": None},
                    {"output": {"kind": "tensor", "value": torch.zeros(10 ** 3)}}, {"grads": 5}, {}):
        assert matching_mistake(exercise, prepared, case, hostile, outputs) is None


def test_naming_a_mistake_never_changes_a_verdict(plans, server, tmp_path):
    import dataclasses

    from grader.run import grade_submission
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "activations.py").write_text("import torch\n\ndef tanh_grad(x):\n    return 1 - torch.tanh(x) ** 1\n")
    plan = plans(("tanh_grad",), True)
    named = grade_submission(plan, folder, server, tmp_path)
    plain = grade_submission(dataclasses.replace(plan, mistakes={}), folder, server, tmp_path)
    pairs = list(zip(named.exercises[0].checks, plain.exercises[0].checks))
    assert any(a.mistake == "square_missing" for a, _ in pairs)
    assert all((a.status, a.score) == (b.status, b.score) and b.mistake is None for a, b in pairs)


def test_running_the_mistakes_leaves_the_graders_random_state_and_default_dtype(course, tmp_path):
    import shutil

    from grader.checks.base import Context
    from grader.checks.mistakes import mistake_outputs
    from grader.plan import build_plan
    from grader.spec import load_course
    root = tmp_path / "course"
    shutil.copytree(course.root / "tests" / "audit_course", root)
    yaml_file = root / "exercises" / "square.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("accepted:\n", "  - id: reseeds\n    feedback: f\n    code: |\n"
                                                       "      torch.set_default_dtype(torch.float64)\n"
                                                       "      def square(x):\n          torch.manual_seed(0)\n"
                                                       "          return x * x + torch.rand(()).to(x.dtype)\n"
                                                       "accepted:\n"))
    small = load_course(root / "course.yaml")
    plan = build_plan(small, hidden=True, exercises=["square"], workdir=tmp_path / "plan")
    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    outputs = mistake_outputs(Context(course=small), small.exercise("square"), plan.prepared["square"])
    assert any(m == "reseeds" for entries in outputs.values() for m, _ in entries)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.get_default_dtype() == torch.float32


def test_a_mistake_that_writes_into_its_input_is_named_by_the_input_it_changed(grade_files):
    result = grade_files({"activations.py": """
        import torch
        def relu(x):
            x[x <= 0] = 0.0
            return x
        """}, exercises=["relu"])
    values = check_named(result, "relu", "values")
    assert values.status == "failed" and values.mistake == "zeroes_input_in_place"


def test_the_cached_plan_keeps_the_mistakes_outputs(course, tmp_path):
    from grader.plan_cache import load_or_build
    first = load_or_build(course, hidden=True, exercises=["relu_grad"], cuda=False, workdir=tmp_path / "a")
    again = load_or_build(course, hidden=True, exercises=["relu_grad"], cuda=False, workdir=tmp_path / "b")
    assert again.mistakes.keys() == first.mistakes.keys() == {"relu_grad"}
    key = next(iter(first.mistakes["relu_grad"]))
    assert [m for m, _ in again.mistakes["relu_grad"][key]] == [m for m, _ in first.mistakes["relu_grad"][key]]


def test_a_mistake_is_named_only_where_the_outputs_agree_with_it_on_every_case(plans):
    """A threshold instead of == 0 fails only the case with a value of 1e-30, where its output happens to be
    any-instead-of-all's; on the first case any-instead-of-all gives 1.0 and it 0.5: not that mistake."""
    from grader.judge import judge_exercise
    plan = plans(("dead_relu_fraction",), True)
    exercise = plan.exercises[0]
    prepared = plan.prepared[exercise.id][0]

    def threshold(h):
        return (h.sum(dim=0) < 1e-6).to(h.dtype).mean()

    def any_instead_of_all(h):
        return (h == 0).any(dim=0).to(h.dtype).mean()

    def record_of(fn):
        results = {call["key"]: {"output": encode_value(fn(*[a.clone() for a in call["args"]])), "inputs_changed": []}
                   for call in prepared.calls if call.get("device", "cpu") == "cpu"}
        return {"status": "ok", "results": results}

    from grader.encode import encode_value
    told = judge_exercise(plan, exercise, record_of(threshold), None).checks[0]
    assert told.status == "failed" and told.mistake is None, told.feedback
    named = judge_exercise(plan, exercise, record_of(any_instead_of_all), None).checks[0]
    assert named.mistake == "any_instead_of_all", named.feedback
