"""Experiments: dead_relu_fraction compared exactly; gradient_norms graded by properties, each classic
mistake failing the property that names it, with a plot of the student's norms beside the reference's."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import check_of
from grader.kinds.experiment import judge as experiment
from grader.checks.base import Context, SpecProblem
from grader.spec import SpecErrors, load_exercise
from grader.spec.models import Exercise

REPO = Path(__file__).resolve().parents[1]
SOLUTION = (REPO / "solutions" / "experiments.py").read_text()
GRADIENT_CHECKS = {"one_norm_per_layer", "every_layer_gets_a_gradient", "sigmoid_gradients_vanish",
                   "kaiming_relu_stays_balanced", "seeded", "independent_layers", "same_recipe", "hidden_other_sizes"}

#: The reference recipe with one line marked for each mistake to replace.
RECIPE = '''
import torch
from torch import nn

ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def gradient_norms(activation, depth, init="default", width=64, seed=0):
    torch.manual_seed(seed)  # SEED
    linears, layers = [], []
    for _ in range(depth):
        pass  # PER-LAYER
        linear = nn.Linear(width, width)
        if init == "xavier":
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
        elif init == "kaiming":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        linears.append(linear)
        layers += [linear, ACT[activation]()]
    x = torch.randn(128, width)
    loss = nn.Sequential(*layers)(x).pow(2).mean()  # LOSS
    loss.backward()  # BACKWARD
    return [linear.weight.grad.norm().item() for linear in linears]  # RETURN
'''


def variant(**replace: str) -> str:
    """The recipe with the lines marked # KEY replaced (indentation kept)."""
    lines = []
    for line in RECIPE.splitlines():
        for key, text in replace.items():
            if line.rstrip().endswith(f"# {key}"):
                line = line[: len(line) - len(line.lstrip())] + text
        lines.append(line)
    return "\n".join(lines) + "\n"


def failed(result) -> set[str]:
    exercise = next(e for e in result.exercises if e.id == "gradient_norms")
    return {c.name for c in exercise.checks if c.status != "passed"}


def grade_norms(grade_files, source: str, name: str = "student"):
    return grade_files({"experiments.py": source}, exercises=["gradient_norms"], name=name)


@pytest.fixture(scope="module")
def graded_norms(plans, server, tmp_path_factory):
    """graded_norms(source) → the SubmissionResult of a submission named `student` whose experiments.py is
    `source`, graded once for this file (several tests read the recipe's and the sum-for-a-mean grading)."""
    from grader.run import grade_submission
    done: dict[str, object] = {}

    def grade(source: str):
        if source not in done:
            folder = tmp_path_factory.mktemp("norms") / "student"
            folder.mkdir()
            (folder / "experiments.py").write_text(source)
            done[source] = grade_submission(plans(("gradient_norms",), True), folder, server,
                                            tmp_path_factory.mktemp("scratch"))
        return done[source]

    return grade


# --- full marks ----------------------------------------------------------------------------------

BY_HAND = {  # each nn.Linear's weight applied by hand instead of calling the layer
    "addmm": "h = torch.addmm(linear.bias, h, linear.weight.t())",
    "matmul": "h = h @ linear.weight.T + linear.bias",
    "a copy": "h = h @ linear.weight.clone().T + linear.bias",
    "in float64": "h = (h.double() @ linear.weight.double().T + linear.bias.double()).float()",
    "broadcast": "h = (h[:, None, :] * linear.weight[None]).sum(-1) + linear.bias",
}
NETWORK_CALLED = """    network = nn.Sequential(*layers)
    x = torch.randn(BATCH, width)
    loss = network(x).pow(2).mean()"""


@pytest.mark.parametrize("product", sorted(BY_HAND))
def test_nn_linear_layers_applied_by_hand_score_full_marks(grade_files, product):
    """The layers are nn.Linear, used through a product (of the weight, a copy of it, or a broadcast)
    rather than called: their weights are observed all the same, made in the call (the statement asks
    for nn.Linear layers, not for calling them)."""
    by_hand = SOLUTION.replace(NETWORK_CALLED, "\n".join([
        "    x = torch.randn(BATCH, width)", "    h = x", "    for linear in linears:",
        f"        {BY_HAND[product]}", "        h = ACTIVATIONS[activation]()(h)", "    loss = h.pow(2).mean()"]))
    assert BY_HAND[product] in by_hand
    result = grade_files({"experiments.py": by_hand}, exercises=["gradient_norms"], name=product.replace(" ", "-"))
    assert result.score == result.max_score > 0, [c.feedback for e in result.exercises for c in e.checks]


def test_a_recipe_that_remembers_its_results_scores_full_marks(grade_files):
    """Several checks call gradient_norms with the same keywords; functools.lru_cache answers the later
    calls without running the network, and each check reads the one observed run of those keywords."""
    cached = "import functools\n" + SOLUTION.replace("def gradient_norms(", "@functools.lru_cache(maxsize=None)\ndef gradient_norms(")
    # a cached helper called with every argument: gradient_norms(depth=10) and gradient_norms(depth=10,
    # init="default") are one call to it
    helper = "import functools\n" + SOLUTION.replace("def gradient_norms(", "@functools.lru_cache(maxsize=None)\ndef _norms(") + (
        "\n\ndef gradient_norms(activation, depth, init=\"default\", width=64, seed=0):\n"
        "    return list(_norms(activation, depth, init, width, seed))\n")
    for name, source in (("cached", cached), ("helper", helper)):
        assert "lru_cache" in source
        result = grade_files({"experiments.py": source}, exercises=["gradient_norms"], name=name)
        assert result.score == result.max_score > 0, [c.feedback for e in result.exercises for c in e.checks]


def test_reference_experiments_score_full_marks(grade_files):
    result = grade_files({"experiments.py": SOLUTION}, exercises=["dead_relu_fraction", "gradient_norms"])
    assert result.score == result.max_score > 0, [c.feedback for e in result.exercises for c in e.checks]


def test_the_recipe_written_another_way_scores_full_marks(grade_files):
    source = (REPO / "examples" / "alice" / "experiments.py").read_text()
    result = grade_files({"experiments.py": source}, exercises=["dead_relu_fraction", "gradient_norms"])
    assert result.score == result.max_score


# --- dead_relu_fraction ----------------------------------------------------------------------------

def test_counting_zero_entries_instead_of_dead_units_fails_values(grade_files):
    result = grade_files({"experiments.py": """
        def dead_relu_fraction(h):
            return (h == 0).to(h.dtype).mean()
    """}, exercises=["dead_relu_fraction"])
    feedback = check_of(result, "dead_relu_fraction", "values").feedback
    assert check_of(result, "dead_relu_fraction", "values").status == "failed"
    assert "expected 0.5, got 0.666667" in feedback


def test_dead_along_the_wrong_dimension_fails_values(grade_files):
    result = grade_files({"experiments.py": """
        def dead_relu_fraction(h):
            return (h == 0).all(dim=1).to(h.dtype).mean()
    """}, exercises=["dead_relu_fraction"])
    assert check_of(result, "dead_relu_fraction", "values").status == "failed"


def test_fraction_off_by_the_last_bit_fails_the_exact_comparison(grade_files):
    result = grade_files({"experiments.py": """
        def dead_relu_fraction(h):
            dead = (h == 0).all(dim=0).to(h.dtype).mean()
            return dead * (1 + 4 * torch.finfo(h.dtype).eps)
        import torch
    """}, exercises=["dead_relu_fraction"])
    assert check_of(result, "dead_relu_fraction", "values").status == "failed"


# --- gradient_norms: each mistake fails the property about it --------------------------------------

def test_the_marked_recipe_itself_scores_full_marks(graded_norms):
    assert failed(graded_norms(variant())) == set()


def test_no_backward_fails_every_layer_gets_a_gradient(grade_files):
    source = variant(BACKWARD="pass", RETURN="return [0.0 if l.weight.grad is None else "
                                             "l.weight.grad.norm().item() for l in linears]")
    result = grade_norms(grade_files, source)
    assert "every_layer_gets_a_gradient" in failed(result)
    assert {"one_norm_per_layer"} & failed(result) == set()
    feedback = check_of(result, "gradient_norms", "every_layer_gets_a_gradient").feedback
    assert "Every number must be above 0, but number 1 is 0." in feedback and "loss.backward()" in feedback


def test_wrong_loss_fails_same_recipe_and_names_the_constant_factor(graded_norms):
    result = graded_norms(variant(LOSS="loss = nn.Sequential(*layers)(x).pow(2).sum()"))
    assert failed(result) == {"same_recipe", "hidden_other_sizes"}
    feedback = check_of(result, "gradient_norms", "same_recipe").feedback
    assert "Every number is 8192 × the reference's" in feedback and "a sum where a mean belongs" in feedback


def test_loss_without_the_square_fails_same_recipe(grade_files):
    result = grade_norms(grade_files, variant(LOSS="loss = nn.Sequential(*layers)(x).mean()"))
    assert "same_recipe" in failed(result)
    assert "sigmoid_gradients_vanish" not in failed(result)


def test_reused_seed_across_layers_fails_independent_layers(grade_files):
    result = grade_norms(grade_files, variant(**{"PER-LAYER": "torch.manual_seed(seed)"}))
    assert "independent_layers" in failed(result)
    assert not {"one_norm_per_layer", "every_layer_gets_a_gradient", "sigmoid_gradients_vanish",
                "seeded"} & failed(result)
    feedback = check_of(result, "gradient_norms", "independent_layers").feedback
    assert "Layers 1 and 2 start with exactly the same weights" in feedback


def test_ignoring_the_seed_fails_seeded(grade_files):
    result = grade_norms(grade_files, variant(SEED="torch.manual_seed(0)"))
    assert "seeded" in failed(result)
    assert "Called with seed=1 instead of 0, your function returned exactly the same numbers" in \
        check_of(result, "gradient_norms", "seeded").feedback


def test_no_seed_at_all_fails_seeded_as_not_deterministic(grade_files):
    result = grade_norms(grade_files, variant(SEED="pass"))
    feedback = check_of(result, "gradient_norms", "seeded").feedback
    assert "Called twice with the same arguments, your function returned different numbers" in feedback


def test_norms_listed_last_to_first_fail_sigmoid_gradients_vanish(grade_files):
    result = grade_norms(grade_files, variant(RETURN="return [l.weight.grad.norm().item() for l in linears][::-1]"))
    assert "sigmoid_gradients_vanish" in failed(result)
    assert "The ratio the first / the last number is" in \
        check_of(result, "gradient_norms", "sigmoid_gradients_vanish").feedback


def test_biases_counted_as_layers_fail_one_norm_per_layer(grade_files):
    result = grade_norms(grade_files, variant(
        RETURN="return [p.grad.norm().item() for l in linears for p in (l.weight, l.bias)]"))
    assert "one_norm_per_layer" in failed(result)
    assert "Expected 10 numbers (depth=10), got 20." in check_of(result, "gradient_norms", "one_norm_per_layer").feedback


def test_an_error_is_reported_with_the_exercise_hint(grade_files):
    result = grade_norms(grade_files, variant(BACKWARD="pass"))
    feedback = check_of(result, "gradient_norms", "one_norm_per_layer").feedback
    assert "AttributeError" in feedback and "weight.grad is None until loss.backward() has run" in feedback


# --- the plot ------------------------------------------------------------------------------------

def test_plot_of_gradient_norms_is_attached_for_right_and_wrong_work(graded_norms):
    right = graded_norms(variant())
    wrong = graded_norms(variant(LOSS="loss = nn.Sequential(*layers)(x).pow(2).sum()"))
    for result in (right, wrong):
        check = check_of(result, "gradient_norms", "same_recipe")
        png = check.attachments["gradient_norms.png"]
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        assert "feedback/gradient_norms.png" in check.feedback
    assert right.exercises[0].checks[0].attachments == {}


def test_plot_written_into_the_feedback_folder(graded_norms, tmp_path):
    from grader.report import write_results
    result = graded_norms(variant())
    write_results(result, tmp_path / "out")
    assert (tmp_path / "out" / "student" / "feedback" / "gradient_norms.png").read_bytes().startswith(b"\x89PNG")


# --- teachers: the vocabulary and the reference's own run -------------------------------------------

def experiment_exercise(properties_yaml: list, kwargs: list[dict]) -> Exercise:
    course_exercise = {"id": "gradient_norms", "title": "t", "module": "experiments", "statement": "s",
                       "signature": 'gradient_norms(activation, depth, init="default", width=64, seed=0)',
                       "reference": "solutions/experiments.py:gradient_norms",
                       "checks": [{"kind": "experiment", "points": 1, "kwargs": kwargs,
                                   "properties": properties_yaml}]}
    return Exercise.model_validate(course_exercise)


def test_a_threshold_the_reference_misses_is_a_teacher_error(course):
    exercise = experiment_exercise([{"ratio": {"numerator": "first", "denominator": "last", "below": 1.0e-3}}],
                          [{"activation": "relu", "depth": 10, "init": "kaiming"}])
    with pytest.raises(SpecProblem, match="the reference's own run of gradient_norms.*fails the property ratio"):
        experiment.prepare(Context(course=course), exercise, exercise.checks[0])


def test_length_equals_must_name_an_argument(course):
    exercise = experiment_exercise([{"length_equals": "layers"}], [{"activation": "relu", "depth": 2}])
    with pytest.raises(SpecProblem, match="length_equals: 'layers' is neither given"):
        experiment.prepare(Context(course=course), exercise, exercise.checks[0])


@pytest.mark.parametrize("properties_yaml, problem", [
    ("[all_finit]", "unknown field 'all_finit'"),
    ("[{all_finite: true, deterministic: true}]", "write one per list item (got all_finite, deterministic)"),
    ("[{ratio: {numerator: first, denominator: last}}]", "ratio: give below, above or within_factor"),
    ("[{ratio: {numerator: first, denominator: last, within_factor: 0.5}}]", "greater than 1"),
    ("[{ratio: {numerator: middle, denominator: last, below: 1}}]", "numerator"),
])
def test_property_spec_errors_name_the_file_and_line(tmp_path, course, properties_yaml, problem):
    file = tmp_path / "gradient_norms.yaml"
    file.write_text("id: gradient_norms\ntitle: t\nmodule: experiments\nstatement: s\n"
                    "signature: 'gradient_norms(activation, depth)'\nreference: solutions/experiments.py:gradient_norms\n"
                    "checks:\n  - kind: experiment\n    points: 1\n    kwargs: [{activation: relu, depth: 2}]\n"
                    f"    properties: {properties_yaml}\n")
    with pytest.raises(SpecErrors) as info:
        load_exercise(file, course.root, course.modules)
    assert problem in str(info.value) and f"{file}:" in str(info.value)


def test_experiment_check_needs_keyword_sets(tmp_path, course):
    file = tmp_path / "g.yaml"
    file.write_text("id: g\ntitle: t\nmodule: experiments\nstatement: s\nsignature: 'g(depth)'\n"
                    "reference: solutions/experiments.py:gradient_norms\n"
                    "checks:\n  - {kind: experiment, points: 1, properties: [all_finite]}\n")
    with pytest.raises(SpecErrors, match="kwargs: list the keyword sets"):
        load_exercise(file, course.root, course.modules)


def test_class_grading_draws_the_picture_for_wrong_work_only(plans, server, tmp_path):
    """Drawing is a large share of a class's grading time; a failing check still gets its picture."""
    from grader.run import grade_submission
    plan = plans(("gradient_norms",), True)
    results = {}
    for name, source in (("right", variant()), ("wrong", variant(LOSS="loss = nn.Sequential(*layers)(x).pow(2).sum()"))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "experiments.py").write_text(source)
        results[name] = grade_submission(plan, folder, server, tmp_path, pictures_of_passing_work=False)
    right = check_of(results["right"], "gradient_norms", "same_recipe")
    wrong = check_of(results["wrong"], "gradient_norms", "same_recipe")
    assert right.status == "passed" and right.attachments == {} and "feedback/" not in right.feedback
    assert wrong.status == "failed" and wrong.attachments["gradient_norms.png"].startswith(b"\x89PNG")
    assert "feedback/gradient_norms.png" in wrong.feedback
