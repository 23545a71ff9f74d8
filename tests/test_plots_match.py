"""The plot check's judgement on plain data, without a sandbox: lines, bars, PNG files, the spec.

What a line is judged on is what it draws: its samples and the straight segments between them.
"""
from __future__ import annotations

import io
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.kinds.plot.judge.png import read_png
from grader.kinds.plot.judge.match import bar_values, best_curve, fit_bars, fit_curve
from grader.spec import SpecErrors, load_course

RANGE = (-10.0, 10.0)


def line(x, y, drawn=True, data_coords=True):
    return {"x": torch.as_tensor(np.asarray(x, dtype=np.float64)), "y": torch.as_tensor(np.asarray(y, dtype=np.float64)),
            "drawn": drawn, "visible": True, "data_coords": data_coords, "label": ""}


def fit(curve, function=torch.sigmoid, derivative=False, kinks=()):
    return fit_curve(curve, function, derivative, list(kinks), RANGE, 0.005)


def test_a_dense_exact_line_fits():
    x = np.linspace(-10, 10, 1000)
    assert fit(line(x, 1 / (1 + np.exp(-x)))).ok


def test_np_arange_stopping_one_step_short_of_10_still_covers():
    x = np.arange(-10, 10, 0.1)
    assert x[-1] < 10 and fit(line(x, 1 / (1 + np.exp(-x)))).ok


def test_a_line_over_minus_5_to_5_does_not_cover_the_range():
    x = np.linspace(-5, 5, 500)
    result = fit(line(x, 1 / (1 + np.exp(-x))))
    assert not result.ok and not result.covers and result.off == 0


def test_a_coarse_polyline_of_a_smooth_curve_is_caught_between_its_points():
    x = np.linspace(-10, 10, 9)
    result = fit(line(x, 1 / (1 + np.exp(-x))))
    assert not result.ok and result.off > 0


def test_an_exact_polyline_of_relu_through_three_points_fits():
    assert fit(line([-10, 0, 10], [0, 0, 10]), torch.relu, kinks=[0.0]).ok


def test_relu_derivative_drawn_as_a_step_fits_and_a_ramp_does_not():
    step = line([-10, 0, 0, 10], [0, 0, 1, 1])
    ramp = line([-10, 0, 10], [0, 0, 1])
    assert fit(step, torch.relu, derivative=True, kinks=[0.0]).ok
    assert not fit(ramp, torch.relu, derivative=True, kinks=[0.0]).ok


def test_relu_derivative_from_np_gradient_is_not_judged_at_the_kink():
    x = np.linspace(-10, 10, 1000)
    dy = np.gradient(np.maximum(x, 0), x)  # 0.5 at the two samples either side of 0
    assert fit(line(x, dy), torch.relu, derivative=True, kinks=[0.0]).ok


def test_relu_is_not_accepted_for_leaky_relu_nor_the_reverse():
    x = np.linspace(-10, 10, 1000)
    relu = line(x, np.maximum(x, 0))
    leaky = line(x, np.where(x > 0, x, 0.01 * x))
    assert not fit(relu, F.leaky_relu, kinks=[0.0]).ok
    assert not fit(leaky, torch.relu, kinks=[0.0]).ok
    assert not fit(line(x, (x > 0) * 1.0), F.leaky_relu, derivative=True, kinks=[0.0]).ok


def test_samples_in_random_order_draw_a_zigzag_and_fail():
    x = np.random.default_rng(0).uniform(-10, 10, 500)
    x[:2] = [-10, 10]
    assert not fit(line(x, 1 / (1 + np.exp(-x)))).ok
    assert fit(line(x, 1 / (1 + np.exp(-x)), drawn=False)).ok  # the same points as markers are right


def test_nan_where_the_curve_should_be_is_off():
    x = np.linspace(-10, 10, 1000)
    y = np.tanh(x)
    y[100:200] = np.nan
    assert not fit(line(x, y), torch.tanh).ok


def test_a_horizontal_helper_line_is_not_a_candidate():
    x = np.linspace(-10, 10, 500)
    axes = {"curves": [line([0, 1], [0, 0], data_coords=False), line(x, np.tanh(x))]}
    assert best_curve(axes, torch.tanh, False, [], RANGE, 0.005).ok


def test_horizontal_bars_are_read_bottom_to_top():
    rects = torch.tensor([[0, 2 - 0.4, 0.7, 0.8], [0, -0.4, 0.1, 0.8], [0, 0.6, 0.2, 0.8]], dtype=torch.float64)
    values = bar_values({"orientation": "horizontal", "rects": rects})
    assert values.tolist() == pytest.approx([0.1, 0.2, 0.7])
    assert fit_bars(values, torch.tensor([0.1, 0.2, 0.7]), 0.005).ok
    assert not fit_bars(values, torch.tensor([0.1, 0.7, 0.2]), 0.005).ok


def png_bytes(draw=True, fmt="png", size=(3, 2), dpi=50) -> bytes:
    from matplotlib.figure import Figure
    figure = Figure(figsize=size, dpi=dpi)
    if draw:
        figure.subplots().plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt)
    return buffer.getvalue()


def test_a_real_png_is_read():
    png, problem = read_png(png_bytes())
    assert problem is None and (png.width, png.height) == (150, 100)


def test_a_jpeg_named_png_is_not_a_png():
    assert "not a PNG (it is a JPEG)" in read_png(png_bytes(fmt="jpg"))[1]


def test_a_blank_png_is_blank():
    assert "blank" in read_png(png_bytes(draw=False))[1]


def test_a_tiny_png_is_too_small():
    assert "at least 100 pixels" in read_png(png_bytes(size=(1, 1)))[1]


def test_truncated_png_is_damaged():
    assert "damaged" in read_png(png_bytes()[:200])[1]


def write_course(tmp_path, check: str):
    (tmp_path / "course.yaml").write_text("name: t\nmodules: [plots]\nexercises: [p.yaml]\n")
    (tmp_path / "p.yaml").write_text(textwrap.dedent("""\
        id: plot_activation
        title: t
        module: plots
        signature: "plot_activation(name, path)"
        statement: s
        checks:
        """) + textwrap.indent(textwrap.dedent(check), "  "))
    return tmp_path / "course.yaml"


def test_bars_on_an_activation_figure_is_a_spec_error_with_its_line(tmp_path):
    course = write_course(tmp_path, """\
        - kind: plot
          points: 1
          figure: activation
          requires: [bars]
          functions: {sigmoid: {of: torch.sigmoid}}
        """)
    with pytest.raises(SpecErrors) as caught:
        load_course(course)
    assert "p.yaml:7" in str(caught.value) and "'bars' does not apply to figure: activation" in str(caught.value)


def test_a_function_that_does_not_import_is_a_spec_error(tmp_path):
    course = write_course(tmp_path, """\
        - kind: plot
          points: 1
          figure: activation
          requires: [curves]
          functions: {sigmoid: {of: torch.sigmod}}
        """)
    with pytest.raises(SpecErrors, match="cannot import 'torch.sigmod'"):
        load_course(course)


def test_a_line_of_a_million_points_is_thinned_evenly_not_cut_short():
    from matplotlib.figure import Figure

    from grader.kinds.plot.probe.figure import MAX_POINTS, describe_figure
    figure = Figure()
    x = np.linspace(-10, 10, 1_000_001)
    figure.subplots().plot(x, np.tanh(x))
    (curve,) = describe_figure(figure)["axes"][0]["curves"]
    assert curve["x"].numel() <= MAX_POINTS
    assert (curve["x"][0], curve["x"][-1]) == (-10.0, 10.0)
    assert fit(curve, torch.tanh).ok
