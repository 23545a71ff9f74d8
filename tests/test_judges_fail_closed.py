"""A judge fails a case when the evidence it needs is missing, malformed or not a number: it never
passes work it could not check. Records are written here (or made by the child's own probe on a
function written here) and read back through the wire as the grader reads them; no process starts."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from grader import kinds, wire
from grader.checks import CaseVerdict, Prepared

pytestmark = pytest.mark.unit


def judged(prepared: Prepared, record: dict[str, Any], case: int = 0) -> CaseVerdict:
    """The verdict on one case's record, as the grader reads it from the child."""
    return kinds.judge(prepared.check.kind).judge_case(prepared, prepared.cases[case],
                                                       wire.loads(wire.dumps(record)))


def probed(prepared: Prepared, fn: Callable) -> list[CaseVerdict]:
    """Each case's verdict on what the child's probe records of `fn`."""
    verdicts = []
    for case, call in zip(prepared.cases, prepared.calls):
        record = kinds.probes()[call["probe"]](fn, dict(call, submission_dir=None))
        verdicts.append(kinds.judge(prepared.check.kind).judge_case(prepared, case, wire.loads(wire.dumps(record))))
    return verdicts


def test_exact_fails_a_number_that_is_nan(prepare):
    exercise = "calculate_gain"
    prepared = prepare(exercise, "exact")
    verdicts = probed(prepared, lambda nonlinearity, param=None: float("nan"))
    assert verdicts and not any(v.passed for v in verdicts)
    assert "got nan" in verdicts[0].message


def test_forbid_fails_a_record_that_does_not_say_the_recorder_stayed(prepare):
    prepared = prepare("sigmoid", "forbid")
    verdict = judged(prepared, {"ops": ["aten.exp.default"], "calls": 7, "returned": 7})
    assert not verdict.passed and verdict.hint_key == "forbid"
    assert judged(prepared, {"ops": ["aten.exp.default"], "recorder_intact": True, "calls": 7, "returned": 7}).passed


def test_forbid_function_fails_a_record_that_does_not_say_the_profiler_stayed(prepare):
    prepared = prepare("xavier_uniform_", "forbid_function")
    verdict = judged(prepared, {"called": []})
    assert not verdict.passed and "sys.setprofile" in verdict.message
    assert judged(prepared, {"called": [], "recorder_intact": True}).passed


def _uniform_(tensor, a=0.0, b=1.0, generator=None):
    import torch
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def test_generator_fails_a_record_without_the_calls_made_with_generator_none(prepare):
    prepared = prepare("uniform_", "generator")
    call = prepared.calls[0]
    record = kinds.probes()[call["probe"]](_uniform_, dict(call, submission_dir=None))
    assert judged(prepared, record).passed
    for global_runs in ([], record["global_runs"][:2]):
        verdict = judged(prepared, dict(record, global_runs=global_runs))
        assert not verdict.passed and "generator=None" in verdict.message
    verdict = judged(prepared, {k: v for k, v in record.items() if k != "global_runs"})
    assert not verdict.passed


# --- plot: the figure's description and the saved file ------------------------------------------------

@pytest.fixture
def plotted(tmp_path, monkeypatch):
    """plotted(fn) → the observation the child's plot probe makes of fn, called in this process."""
    import matplotlib.pyplot as plt
    from grader.kinds.plot import probe as plot_probe
    plt.switch_backend("agg")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(plot_probe, "make_headless", lambda: None)

    def run(fn: Callable) -> dict[str, Any]:
        plot_probe._SEEN.clear()
        try:
            return plot_probe.plot_probe(fn, {"args": ["sigmoid"], "options": {"filename": "sigmoid.png"}})
        finally:
            plt.close("all")
    return run


def _panels(extra_axes: int = 0, rows: int = 1):
    """sigmoid on the left, its derivative on the right (side by side, or stacked with rows=2), titled,
    with a grid; and `extra_axes` more axes after them."""
    import matplotlib.pyplot as plt
    import numpy as np
    x = np.linspace(-10, 10, 1001)
    s = 1 / (1 + np.exp(-x))
    fig, axes = plt.subplots(rows, 2 // rows + extra_axes if rows == 1 else 1, figsize=(8, 3))
    axes = list(np.ravel(axes))
    for ax, y, title in zip(axes, (s, s * (1 - s)), ("sigmoid", "sigmoid'")):
        ax.plot(x, y)
        ax.set_title(title)
        ax.grid(True)
    return fig, axes


def plot_verdict(prepare, label: str, observation: dict[str, Any]) -> CaseVerdict:
    prepared = prepare("plot_activation", label)
    case = next(i for i, c in enumerate(prepared.cases) if c.id == "sigmoid")
    return judged(prepared, observation, case)


def test_plot_layout_fails_a_figure_with_an_axes_that_could_not_be_read(prepare, plotted):
    def plot_activation(name, path):
        fig, axes = _panels()
        fig.savefig(path)
        return fig
    assert plot_verdict(prepare, "figure", plotted(plot_activation)).passed

    def three_axes(name, path):
        fig, axes = _panels(extra_axes=1)
        axes[2].get_title = lambda *args, **kwargs: 1 / 0  # the third axes cannot be described
        fig.savefig(path)
        return fig
    observation = plotted(three_axes)
    assert any("broken" in a for a in observation["figure"]["axes"])
    verdict = plot_verdict(prepare, "figure", observation)
    assert not verdict.passed and "could not be read (ZeroDivisionError" in verdict.message


def test_plot_layout_fails_an_axes_whose_position_is_not_a_number(prepare, plotted):
    def stacked(name, path):
        fig, axes = _panels(rows=2)
        fig.savefig(path)
        axes[1].set_position([float("nan")] * 4)
        return fig
    verdict = plot_verdict(prepare, "figure", plotted(stacked))
    assert not verdict.passed and "position is not a number" in verdict.message


def test_plot_file_fails_a_saved_picture_with_nothing_to_compare(prepare, plotted):
    def gradient_saved(name, path):
        import matplotlib.pyplot as plt
        import numpy as np
        fig, _ = _panels()
        plt.imsave(path, np.tile(np.linspace(0, 1, 300), (200, 1)), cmap="gray")  # not blank, and no edge
        return fig
    observation = plotted(gradient_saved)
    assert observation["rendered"] is not None
    verdict = plot_verdict(prepare, "saved", observation)
    assert not verdict.passed and "no lines, text or edges" in verdict.message


def test_plot_file_fails_when_no_figure_came_back_to_compare_with(plotted):
    from grader.kinds.plot.judge.aspects import ASPECTS

    def closed(name, path):
        import matplotlib.pyplot as plt
        fig, _ = _panels()
        fig.savefig(path)
        plt.close("all")
    observation = plotted(closed)
    assert observation["figure_source"] is None and observation["file"]["exists"]
    problem = ASPECTS["file"](observation, None, 0.005, (-10.0, 10.0))
    assert problem is not None and "returned no Figure" in problem


# --- experiment: properties on numbers that are nan ---------------------------------------------------

def test_experiment_changes_with_fails_two_runs_that_both_gave_nan():
    from grader.kinds.experiment.judge.property_rules import check_property, override_key
    from grader.kinds.experiment.model import Property
    def numbers() -> dict[str, Any]:  # each run's own nan, as two runs in the child give
        return {"kind": "sequence", "type": "list", "items": [{"kind": "number", "type": "float", "value": v}
                                                              for v in (float("nan"), 1.0)]}
    prop = Property.model_validate({"changes_with": {"seed": 1}})
    mine = wire.loads(wire.dumps({"output": numbers(), "changed_by": {override_key({"seed": 1}): numbers()}}))
    problem = check_property(prop, mine, mine, {"seed": 0}, {})
    assert problem is not None and "returned exactly the same numbers: it ignores seed" in problem


def test_experiment_distinct_layers_fails_layers_alike_down_to_their_nan():
    from grader.kinds.experiment.judge.property_rules import check_property
    from grader.kinds.experiment.model import Property
    nan = float("nan")
    output = {"kind": "sequence", "type": "list", "items": [{"kind": "number", "type": "float", "value": 1.0}]}
    mine = wire.loads(wire.dumps({"output": output, "layers": [[nan, 0.5, nan, 4.0], [nan, 0.5, nan, 4.0]]}))
    problem = check_property(Property.model_validate("distinct_layers"), mine, mine, {}, {})
    assert problem is not None and "Layers 1 and 2 start with exactly the same weights" in problem


def test_values_fails_a_record_that_does_not_say_whether_the_inputs_changed(prepare):
    import torch
    from grader.encode import encode_value
    prepared = prepare("sigmoid", "values")
    case = prepared.cases[0]
    (x,) = case.args.values()
    output = encode_value(torch.sigmoid(x))
    assert judged(prepared, {"output": output, "inputs_changed": []}).passed
    verdict = judged(prepared, {"output": output})
    assert not verdict.passed and "inputs" in verdict.message


def test_forbid_fails_a_record_without_the_operators_reached(prepare):
    prepared = prepare("sigmoid", "forbid")
    verdict = judged(prepared, {"recorder_intact": True, "calls": 7, "returned": 7})
    assert not verdict.passed and "could not read which operators" in verdict.message


def test_forbid_function_fails_a_record_without_the_functions_called(prepare):
    prepared = prepare("xavier_uniform_", "forbid_function")
    verdict = judged(prepared, {"recorder_intact": True})
    assert not verdict.passed and "could not read which functions" in verdict.message
