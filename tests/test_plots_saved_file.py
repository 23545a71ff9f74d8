"""The saved file must show the Figure the function returned, as it is when returned: the child draws
that Figure again and the grader compares the two pictures, whatever happened to the figure or the file
after the save (a change through any of matplotlib's API, a callback run inside savefig, another file
written over it). Decoding a PNG gives the same pixels whichever path it takes.

In-process, on the probe and the file aspect (no sandbox): the probe is called as the child calls it.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from grader.kinds.plot import probe as plot_probe
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


def bar_chart(plt):
    """Another figure: three bars."""
    other = plt.figure(figsize=(6, 2.5))
    other.gca().bar(range(3), [3, 1, 2])
    return other


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


def test_the_returned_figure_saved_unchanged_passes(probe):
    observation, verdict = probe(saved_then(lambda *_: None))
    assert observation["rendered"] is not None and verdict is None


@pytest.mark.parametrize("save", ["plt.savefig then plt.show", "canvas.print_figure", "tight and transparent",
                                  "saved twice, the last after the change", "pyplot state, torch tensors"])
def test_other_ways_of_saving_the_returned_figure_pass(probe, save):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        if save == "pyplot state, torch tensors":
            x = torch.linspace(-10, 10, 201)
            plt.figure(figsize=(8, 3))
            plt.subplot(1, 2, 1)
            plt.plot(x, torch.sigmoid(x))
            plt.subplot(1, 2, 2)
            plt.plot(x, torch.sigmoid(x) * (1 - torch.sigmoid(x)))
            plt.savefig(path)
            return plt.gcf()
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
    _, verdict = probe(plot_activation)
    assert verdict is None


def test_a_figure_drawn_on_after_saving_fails_the_saved_file(probe):
    _, verdict = probe(saved_then(lambda fig, left, right, path: draw_second_panel(right), second=False))
    assert NOT_THE_FIGURE in verdict


def test_a_change_after_saving_counts_even_when_redrawn_and_marked_fresh(probe):
    def change(fig, left, right, path):
        draw_second_panel(right)
        fig.canvas.draw()  # matplotlib's stale flag is lowered by a draw ...
        fig.stale = False  # ... or by hand
    _, verdict = probe(saved_then(change, second=False))
    assert NOT_THE_FIGURE in verdict


def _bigger_titles(fig, left, right, path):
    for ax in (left, right):
        ax.title.get_fontproperties().set_size(60)  # the Text's own FontProperties, changed in place


def _formatter_state(fig, left, right, path):
    from matplotlib import ticker
    for ax in (left, right):
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, pos: f"{v * 123456:g}"))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, pos: f"{v * 123456:g}"))


@pytest.mark.parametrize("change", [_bigger_titles, _formatter_state],
                         ids=["font properties changed in place", "tick formatters set"])
def test_changes_after_saving_that_matplotlib_is_not_told_of_fail_the_saved_file(probe, change):
    _, verdict = probe(saved_then(change))
    assert NOT_THE_FIGURE in verdict


def test_a_callback_inside_savefig_that_writes_another_picture_over_the_file_fails(probe):
    def plot_activation(name, path):
        import os

        import matplotlib.pyplot as plt
        fig, _, _ = two_panels(plt)
        other = bar_chart(plt)
        picture = io.BytesIO()
        other.savefig(picture, format="png", dpi=60)
        plt.close(other)
        chained = fig.stale_callback

        def swap(figure, value):  # runs inside savefig, after the PNG is written (the dpi is put back)
            if os.path.exists(path) and os.path.getsize(path) != len(picture.getvalue()):
                with open(path, "wb") as handle:
                    handle.write(picture.getvalue())
            if chained:
                chained(figure, value)
        fig.stale_callback = swap
        fig.savefig(path, dpi=60)
        return fig
    _, verdict = probe(plot_activation)
    assert NOT_THE_FIGURE in verdict


@pytest.mark.parametrize("options", [{}, {"facecolor": "black"}], ids=["plain", "on black"])
def test_another_figure_saved_than_returned_fails_the_saved_file(probe, options):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        bar_chart(plt).savefig(path, dpi=60, **options)  # the returned figure is drawn on black then too
        fig, _, _ = two_panels(plt)
        return fig
    _, verdict = probe(plot_activation)
    assert NOT_THE_FIGURE in verdict


def test_plt_savefig_of_another_current_figure_fails_the_saved_file(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        fig, _, _ = two_panels(plt)
        bar_chart(plt)  # now the current figure
        plt.savefig(path)
        return fig
    _, verdict = probe(plot_activation)
    assert NOT_THE_FIGURE in verdict


def test_a_file_overwritten_after_savefig_is_judged_by_its_content(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        buffer = io.BytesIO()
        bar_chart(plt).savefig(buffer, format="png", dpi=60)
        fig, _, _ = two_panels(plt)
        fig.savefig(path, dpi=60)
        with open(path, "wb") as handle:  # after the save, and without matplotlib
            handle.write(buffer.getvalue())
        return fig
    _, verdict = probe(plot_activation)
    assert NOT_THE_FIGURE in verdict


def test_a_cropped_save_of_the_returned_figure_fails(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        from matplotlib.transforms import Bbox
        fig, _, _ = two_panels(plt)
        fig.savefig(path, dpi=60, bbox_inches=Bbox([[0, 0], [3, 2.5]]))  # the left panel only
        return fig
    _, verdict = probe(plot_activation)
    assert NOT_THE_FIGURE in verdict


@pytest.mark.parametrize("how", ["savefig", "a file object"])
def test_a_figure_saved_on_a_black_background_passes(probe, how):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        fig, _, _ = two_panels(plt)
        if how == "savefig":
            fig.savefig(path, dpi=60, facecolor="black", edgecolor="red")
        else:
            with open(path, "wb") as handle:
                fig.savefig(handle, format="png", dpi=60, facecolor="black")
        return fig
    _, verdict = probe(plot_activation)
    assert verdict is None


def test_a_figure_that_cannot_be_drawn_again_fails_the_saved_file_and_says_why(probe):
    def plot_activation(name, path):
        import matplotlib.pyplot as plt
        fig, _, _ = two_panels(plt)
        bar_chart(plt).savefig(path, dpi=60)  # a picture of something else at path

        def refuse(figure, value):
            raise RuntimeError("no second drawing")
        fig.stale_callback = refuse  # every later change of the figure (a drawing, its dpi) raises
        return fig
    observation, verdict = probe(plot_activation)
    assert observation["rendered"] is None and "no second drawing" in observation["render_error"]
    assert "could not be drawn again (RuntimeError: no second drawing)" in verdict


@pytest.mark.parametrize("rendered", [torch.zeros(0, dtype=torch.uint8), torch.arange(40, dtype=torch.uint8), "x"])
def test_a_picture_of_the_figure_that_cannot_be_read_fails_the_saved_file(probe, rendered):
    observation, _ = probe(saved_then(lambda *_: None))
    verdict = ASPECTS["file"]({**observation, "rendered": rendered}, None, 0.005, (-10.0, 10.0))
    assert "could not be read" in verdict


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
