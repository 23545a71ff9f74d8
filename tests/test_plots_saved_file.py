"""The saved file shows the returned Figure: the probe skips drawing the Figure again only when its
own savefig wrote the file and nothing changed since; every other file is still compared with it.

In-process, on the probe and the file aspect (no sandbox): the probe is called as the child calls it.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from grader.kinds.plot import probe as plot_probe
from grader.kinds.plot.probe import saves
from grader.kinds.plot.judge.aspects import ASPECTS
from grader.kinds.plot.judge.png import _over_white

NOT_THE_FIGURE = "does not show the Figure"


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """plot_probe(fn) as the child runs it, its files in tmp_path; then the file aspect's verdict."""
    import matplotlib.pyplot as plt
    plt.switch_backend("agg")  # plt.show() returns at once
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(plot_probe, "make_headless", lambda: None)  # the test process keeps its rcParams
    monkeypatch.setattr(saves, "_watched", None)  # and, after the test, notes no saves

    def run(fn):
        plot_probe._SEEN.clear()
        try:
            observation = plot_probe.plot_probe(fn, {"args": ["sigmoid"], "options": {"filename": "sigmoid.png"}})
        finally:
            plt.close("all")
        return observation, ASPECTS["file"](observation, None, 0.005, (-10.0, 10.0))
    return run


def two_panels(plt, second=True):
    x = np.linspace(-10, 10, 401)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 2.5))
    left.plot(x, np.tanh(x))
    left.set_title("tanh")
    if second:
        right.plot(x, 1 - np.tanh(x) ** 2)
        right.set_title("tanh'")
    return fig, left, right


def draw_second_panel(right):
    x = np.linspace(-10, 10, 401)
    right.plot(x, 1 - np.tanh(x) ** 2)
    right.set_title("tanh'")


def saved_then(change, second=True):
    """A function that saves its figure (the right panel drawn or not), then does
    `change(fig, left, right, path)`, and returns the figure."""
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        fig, left, right = two_panels(plt, second)
        fig.savefig(path, dpi=60)
        change(fig, left, right, path)
        return fig
    return plot_activation


def test_the_returned_figure_saved_unchanged_is_not_drawn_again_and_passes(probe):
    observation, verdict = probe(saved_then(lambda *_: None))
    assert observation["file_is_figure"] is True
    assert observation["rendered"] is None
    assert verdict is None


@pytest.mark.parametrize("save", ["plt.savefig then plt.show", "canvas.print_figure", "tight and transparent",
                                  "saved twice, the last after the change"])
def test_other_ways_of_saving_the_returned_figure_unchanged_are_seen_too(probe, save):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        fig, left, right = two_panels(plt, second=save != "saved twice, the last after the change")
        if save == "plt.savefig then plt.show":
            plt.savefig(path)
            plt.show()
        elif save == "canvas.print_figure":
            fig.canvas.print_figure(path, dpi=60)
        elif save == "tight and transparent":
            fig.savefig(path, dpi=90, bbox_inches="tight", transparent=True)
        else:
            fig.savefig(path, dpi=60)
            draw_second_panel(right)
            fig.savefig(path, dpi=60)
        return plt.gcf()
    observation, verdict = probe(plot_activation)
    assert observation["file_is_figure"] is True and verdict is None


def test_a_figure_changed_after_saving_is_drawn_again_and_fails_the_saved_file(probe):
    observation, verdict = probe(saved_then(lambda fig, left, right, path: draw_second_panel(right), second=False))
    assert observation["file_is_figure"] is False and observation["rendered"] is not None
    assert NOT_THE_FIGURE in verdict


def test_a_change_after_saving_counts_even_when_redrawn_and_marked_fresh(probe):
    def change(fig, left, right, path):
        draw_second_panel(right)
        fig.canvas.draw()  # matplotlib's stale flag is lowered by a draw ...
        fig.stale = False  # ... or by hand; the count of changes is not
    observation, verdict = probe(saved_then(change, second=False))
    assert observation["file_is_figure"] is False
    assert NOT_THE_FIGURE in verdict


def test_a_style_change_after_saving_is_seen(probe):
    observation, _ = probe(saved_then(lambda fig, left, right, path: left.get_lines()[0].set_linewidth(6)))
    assert observation["file_is_figure"] is False and observation["rendered"] is not None


def test_rc_params_changed_after_saving_are_seen(probe):
    def change(fig, left, right, path):
        import matplotlib
        matplotlib.rcParams["path.sketch"] = (5, 50, 2)  # read when the figure is drawn
    observation, _ = probe(saved_then(change))
    assert observation["file_is_figure"] is False and observation["rendered"] is not None


def test_line_data_changed_in_place_after_saving_is_seen(probe):
    def change(fig, left, right, path):
        left.get_lines()[0].get_xydata()[:, 1] *= -1  # no set_* call: matplotlib is not told
    observation, _ = probe(saved_then(change))
    assert observation["file_is_figure"] is False and observation["rendered"] is not None


def test_another_figure_saved_than_returned_fails_the_saved_file(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        other = plt.figure()
        other.gca().bar(range(3), [3, 1, 2])
        other.savefig(path)
        fig, _, _ = two_panels(plt)
        return fig
    observation, verdict = probe(plot_activation)
    assert observation["file_is_figure"] is False
    assert NOT_THE_FIGURE in verdict


def test_plt_savefig_of_another_current_figure_fails_the_saved_file(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        fig, _, _ = two_panels(plt)
        plt.figure().gca().bar(range(3), [3, 1, 2])  # now the current figure
        plt.savefig(path)
        return fig
    observation, verdict = probe(plot_activation)
    assert observation["file_is_figure"] is False
    assert NOT_THE_FIGURE in verdict


def test_a_file_overwritten_after_savefig_is_judged_by_its_content(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        other = plt.figure(figsize=(6, 2.5))
        other.gca().bar(range(3), [3, 1, 2])
        buffer = io.BytesIO()
        other.savefig(buffer, format="png", dpi=60)
        fig, _, _ = two_panels(plt)
        fig.savefig(path, dpi=60)
        with open(path, "wb") as handle:  # after the save, and without matplotlib
            handle.write(buffer.getvalue())
        return fig
    observation, verdict = probe(plot_activation)
    assert observation["file_is_figure"] is False
    assert NOT_THE_FIGURE in verdict


def test_a_cropped_save_of_the_returned_figure_is_drawn_again(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        from matplotlib.transforms import Bbox
        fig, _, _ = two_panels(plt)
        fig.savefig(path, dpi=60, bbox_inches=Bbox([[0, 0], [3, 2.5]]))  # the left panel only
        return fig
    observation, verdict = probe(plot_activation)
    assert observation["file_is_figure"] is False and observation["rendered"] is not None
    assert NOT_THE_FIGURE in verdict


def test_the_grader_skips_the_comparison_only_for_a_true_file_is_figure(probe):
    observation, _ = probe(saved_then(lambda fig, left, right, path: draw_second_panel(right), second=False))
    for claim in (1, "true", None):
        assert NOT_THE_FIGURE in ASPECTS["file"]({**observation, "file_is_figure": claim}, None, 0.005, (-10, 10))
    assert ASPECTS["file"]({**observation, "file_is_figure": True}, None, 0.005, (-10, 10)) is None


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "RGBA with transparent pixels", "LA", "P", "L"])
def test_an_image_over_white_is_the_same_pixels_whichever_way_it_is_decoded(mode):
    from PIL import Image
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (150, 90, 4), dtype=np.uint8)
    rgba[..., 3] = 255 if mode in ("RGBA", "RGB") else rgba[..., 3]
    image = Image.fromarray(rgba, "RGBA").convert(mode.split()[0])
    composed = np.asarray(image.convert("RGBA"), dtype=np.float32)
    alpha = composed[..., 3:4] / 255.0
    expected = (composed[..., :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    assert np.array_equal(_over_white(image), expected)


def test_a_figure_saved_with_pyplot_state_reports_the_skip_with_torch_lines(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        x = torch.linspace(-10, 10, 201)
        plt.figure(figsize=(8, 3))
        plt.subplot(1, 2, 1)
        plt.plot(x, torch.sigmoid(x))
        plt.subplot(1, 2, 2)
        plt.plot(x, torch.sigmoid(x) * (1 - torch.sigmoid(x)))
        plt.savefig(path)
        return plt.gcf()
    observation, verdict = probe(plot_activation)
    assert observation["file_is_figure"] is True and verdict is None
