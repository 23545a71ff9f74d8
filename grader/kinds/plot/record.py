"""What the plot probe sends back (plot/probe): the figure the function drew and the file it saved."""
from __future__ import annotations

from typing import Any, TypedDict

from grader.calls import RecordedError


class PlotRecord(TypedDict, total=False):
    """The function's figure described as plain data, the file read back, and what else it did."""

    error: RecordedError
    #: what the function returned: its type, module, and whether it is a Figure
    returned: dict[str, Any]
    #: where the figure came from: "returned", "pyplot" (the current figure), or None (no figure)
    figure_source: str | None
    #: axes, lines, bars, titles, grid … as plain data (plot/probe/figure.py), and the figure rendered
    figure: dict[str, Any] | None
    rendered: Any
    #: why the returned Figure could not be drawn again (then nothing shows the saved file is that Figure)
    render_error: str | None
    #: matplotlib's log and Python's warnings during the call, counted
    noise: dict[str, Any]
    #: this child's token, the path the function was given, and the file found there
    child: str
    path: str
    file: dict[str, Any]
    #: other image files the call wrote
    other_images: list[str]
