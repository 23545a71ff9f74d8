"""The class at a glance: per-exercise means and full-marks shares, the misconceptions (how many
students matched each catalogued mistake, and the most common failing cases no mistake explains),
the slowest submissions, the ones that hit a limit; as terminal text, Markdown or HTML, with a
histogram PNG and a misconceptions bar chart beside it."""
from __future__ import annotations

import html
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..scoring import SubmissionResult
from .files import write_atomic
from .gradebook import write_gradebook
from ..text import unicode_safe as u

HISTOGRAM = "histogram.png"
MISCONCEPTIONS = "misconceptions.png"
#: How many of the most common failing cases no catalogued mistake explains are listed per exercise.
UNMATCHED_SHOWN = 3
_FIRST_FAILING = re.compile(r"First failing case: (.+)$", re.M)


@dataclass(frozen=True)
class ExerciseStats:
    id: str
    max_score: float
    mean: float
    full_marks: float           # share of submissions with every point of the exercise, 0 … 1


@dataclass(frozen=True)
class Misconceptions:
    """One exercise's failures as a teacher reads them."""

    exercise: str
    mistakes: tuple[tuple[str, int], ...]     # (catalogued mistake id, students whose work matched it), most first
    unmatched: tuple[tuple[str, int], ...]    # ("check: first failing case", students) that matched no mistake


@dataclass(frozen=True)
class Limited:
    submission: str
    what: str                   # "sigmoid: timeout", "output truncated"


@dataclass(frozen=True)
class ClassSummary:
    submissions: int
    max_score: float
    totals: tuple[tuple[str, float], ...]
    exercises: tuple[ExerciseStats, ...]
    slowest: tuple[tuple[str, float], ...]   # (submission, seconds), slowest first
    limited: tuple[Limited, ...]
    misconceptions: tuple[Misconceptions, ...] = field(default=())

    @property
    def mean(self) -> float:
        return statistics.fmean(t for _, t in self.totals) if self.totals else 0.0

    @property
    def median(self) -> float:
        return statistics.median(t for _, t in self.totals) if self.totals else 0.0


def summarise(results: Iterable[SubmissionResult], slowest: int = 5) -> ClassSummary:
    results = sorted(results, key=lambda r: r.submission)
    ids: list[str] = []
    maxima: dict[str, float] = {}
    scores: dict[str, list[float]] = {}
    full: dict[str, int] = {}
    for result in results:
        for exercise in result.exercises:
            if exercise.id not in scores:
                ids.append(exercise.id)
                scores[exercise.id], full[exercise.id] = [], 0
            maxima[exercise.id] = max(maxima.get(exercise.id, 0.0), exercise.max_score)
            scores[exercise.id].append(exercise.score)
            full[exercise.id] += exercise.max_score > 0 and exercise.score >= exercise.max_score
    n = len(results)
    exercises = tuple(ExerciseStats(i, maxima[i], sum(scores[i]) / n, full[i] / n) for i in ids)
    timed = [(r.submission, float(r.details.get("grade_s", r.details.get("wall_s", 0.0)) or 0.0)) for r in results]
    timed = [t for t in timed if t[1] > 0]
    timed.sort(key=lambda t: -t[1])
    return ClassSummary(n, max((r.max_score for r in results), default=0.0),
                        tuple((r.submission, r.score) for r in results), exercises, tuple(timed[:slowest]),
                        tuple(_limits_hit(results)), tuple(_misconceptions(results, ids)))


def _misconceptions(results: list[SubmissionResult], ids: list[str]) -> Iterable[Misconceptions]:
    """Per exercise: students per matched mistake (once each, however many checks matched it), and the
    failing cases that matched none (the check and the case its feedback names)."""
    matched: dict[str, Counter] = {i: Counter() for i in ids}
    unmatched: dict[str, Counter] = {i: Counter() for i in ids}
    for result in results:
        for exercise in result.exercises:
            named = {c.mistake for c in exercise.checks if c.mistake}
            matched[exercise.id].update(named)
            cases = set()
            for check in exercise.checks:
                if check.status in ("failed", "error") and not check.mistake:
                    found = _FIRST_FAILING.search(check.feedback)
                    if found:
                        cases.add(f"{check.name}: {found.group(1).strip()}")
            unmatched[exercise.id].update(cases)
    for i in ids:
        if matched[i] or unmatched[i]:
            yield Misconceptions(i, tuple(_most_common(matched[i])),
                                 tuple(_most_common(unmatched[i])[:UNMATCHED_SHOWN]))


def _most_common(counter: Counter) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _limits_hit(results: list[SubmissionResult]) -> Iterable[Limited]:
    for result in results:
        for stop in result.details.get("stopped") or ():
            yield Limited(result.submission, f"{stop.get('step', '?')}: {stop.get('reason', '?')}")
        if result.details.get("output_truncated"):
            yield Limited(result.submission, "printed more than the output limit (truncated)")


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _rows(summary: ClassSummary) -> list[tuple[str, str, str, str]]:
    return [(e.id, f"{e.mean:.2f}", f"{e.max_score:g}", _pct(e.full_marks)) for e in summary.exercises]


def render_text(summary: ClassSummary) -> str:
    """The summary printed at the end of `torchgrade grade`."""
    if not summary.submissions:
        return "No submissions."
    lines = [f"Class: {summary.submissions} submissions, mean {summary.mean:.2f} / {summary.max_score:g}, "
             f"median {summary.median:g}"]
    rows = [("exercise", "mean", "max", "full marks"), *_rows(summary)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for index, row in enumerate(rows):
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}")
        if index == 0:
            lines.append("  " + "-" * (sum(widths) + 6))
    named = [m for m in summary.misconceptions if m.mistakes]
    if named:
        lines.append("Misconceptions (students whose failing case matched a catalogued mistake):")
        lines += [f"  {m.exercise}: " + ", ".join(f"{mistake} {n}" for mistake, n in m.mistakes) for m in named]
    if summary.slowest:
        lines.append("Slowest: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.slowest))
    if summary.limited:
        lines.append("Hit a limit:")
        lines += [f"  {item.submission}: {item.what}" for item in summary.limited]
    else:
        lines.append("Hit a limit: none")
    return "\n".join(lines)


def _misconception_rows(summary: ClassSummary) -> list[tuple[str, str, str]]:
    return [(m.exercise, mistake, str(n)) for m in summary.misconceptions for mistake, n in m.mistakes]


def _unmatched_rows(summary: ClassSummary) -> list[tuple[str, str, str]]:
    return [(m.exercise, case, str(n)) for m in summary.misconceptions for case, n in m.unmatched]


def render_markdown(summary: ClassSummary, histogram: str | None = HISTOGRAM,
                    chart: str | None = MISCONCEPTIONS) -> str:
    lines = ["# Class report", "",
             f"{summary.submissions} submissions · mean {summary.mean:.2f} / {summary.max_score:g} · "
             f"median {summary.median:g}", ""]
    if histogram:
        lines += [f"![totals and per-exercise full marks]({histogram})", ""]
    lines += ["## Exercises", "", "| exercise | mean | max | full marks |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _rows(summary)]
    lines += ["", "## Misconceptions", "",
              "Students whose first failing case matched a catalogued mistake (`mistakes:` in the exercise's YAML):", ""]
    if chart and _misconception_rows(summary):
        lines += [f"![students per catalogued mistake]({chart})", ""]
    rows = _misconception_rows(summary)
    lines += (["| exercise | mistake | students |", "| --- | --- | ---: |"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
              if rows else ["- none matched"])
    lines += ["", "The most common failing cases that matched no catalogued mistake:", ""]
    rows = _unmatched_rows(summary)
    lines += (["| exercise | check: first failing case | students |", "| --- | --- | ---: |"]
              + [f"| {a} | {b.replace('|', '/')} | {c} |" for a, b, c in rows] if rows else ["- none"])
    lines += ["", "## Slowest submissions", ""]
    lines += [f"- {name}: {seconds:.1f} s" for name, seconds in summary.slowest] or ["- (no timings recorded)"]
    lines += ["", "## Submissions that hit a limit", ""]
    lines += [f"- {item.submission}: {item.what}" for item in summary.limited] or ["- none"]
    lines += ["", "## Totals", "", "| submission | score |", "| --- | ---: |"]
    lines += [f"| {name} | {score:g} / {summary.max_score:g} |" for name, score in summary.totals]
    return "\n".join(lines) + "\n"


def render_html(summary: ClassSummary, histogram: str | None = HISTOGRAM, chart: str | None = MISCONCEPTIONS) -> str:
    e = html.escape

    def table(head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
        header = "".join(f"<th>{e(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"

    def items(values: list[str], empty: str) -> str:
        return "<ul>" + "".join(f"<li>{e(v)}</li>" for v in (values or [empty])) + "</ul>"

    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Class report</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child,th:first-child"
             "{text-align:left}</style></head><body>",
             "<h1>Class report</h1>",
             f"<p>{summary.submissions} submissions · mean {summary.mean:.2f} / {summary.max_score:g} · "
             f"median {summary.median:g}</p>"]
    if histogram:
        parts.append(f"<img src='{e(histogram)}' alt='totals and per-exercise full marks' style='max-width:100%'>")
    parts += ["<h2>Exercises</h2>", table(("exercise", "mean", "max", "full marks"), _rows(summary)),
              "<h2>Misconceptions</h2>",
              "<p>Students whose first failing case matched a catalogued mistake:</p>",
              *([f"<img src='{e(chart)}' alt='students per catalogued mistake' style='max-width:100%'>"]
                if chart and _misconception_rows(summary) else []),
              table(("exercise", "mistake", "students"), _misconception_rows(summary)),
              "<p>The most common failing cases that matched no catalogued mistake:</p>",
              table(("exercise", "check: first failing case", "students"), _unmatched_rows(summary)),
              "<h2>Slowest submissions</h2>",
              items([f"{n}: {s:.1f} s" for n, s in summary.slowest], "(no timings recorded)"),
              "<h2>Submissions that hit a limit</h2>",
              items([f"{i.submission}: {i.what}" for i in summary.limited], "none"),
              "<h2>Totals</h2>",
              table(("submission", "score"), [(n, f"{s:g} / {summary.max_score:g}") for n, s in summary.totals]),
              "</body></html>"]
    return "\n".join(parts) + "\n"


def write_histogram(summary: ClassSummary, path: Path) -> Path:
    """Two panels: the distribution of totals, and each exercise's share of full marks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    totals_axes, share_axes = figure.subplots(1, 2, width_ratios=(1, 1.4))
    totals = [score for _, score in summary.totals]
    top = summary.max_score or max(totals, default=1.0) or 1.0
    totals_axes.hist(totals, bins=min(20, max(5, len(totals) // 4 or 1)), range=(0, top), color="#4c72b0")
    totals_axes.set(title=f"Totals ({summary.submissions} submissions)", xlabel=f"score (of {top:g})",
                    ylabel="submissions")
    ids = [e.id for e in summary.exercises]
    share_axes.bar(range(len(ids)), [100 * e.full_marks for e in summary.exercises], color="#55a868")
    share_axes.set_xticks(range(len(ids)), ids, rotation=60, ha="right", fontsize=8)
    share_axes.set(title="Full marks per exercise", ylabel="% of submissions", ylim=(0, 100))
    for axes in (totals_axes, share_axes):
        axes.grid(axis="y", alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def write_misconceptions_chart(summary: ClassSummary, path: Path) -> Path:
    """One horizontal bar per (exercise, catalogued mistake): how many students matched it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [(f"{m.exercise}: {mistake}", n) for m in summary.misconceptions for mistake, n in m.mistakes]
    rows.sort(key=lambda row: row[1])
    figure = Figure(figsize=(9, max(2.5, 0.3 * len(rows) + 1.2)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.barh(range(len(rows)), [n for _, n in rows], color="#c44e52")
    axes.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    axes.set(title=f"Catalogued mistakes matched ({summary.submissions} submissions)", xlabel="students")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="x", alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def write_class_report(results: list[SubmissionResult], out_dir: Path, fmt: str = "markdown") -> list[Path]:
    """gradebook.csv, report.md (or report.html), histogram.png and, when a student matched a catalogued
    mistake, misconceptions.png in `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    summary = summarise(results)
    ids = [e.id for e in summary.exercises]
    written = [write_gradebook(results, ids, out_dir / "gradebook.csv"), write_histogram(summary, out_dir / HISTOGRAM)]
    chart = None
    if _misconception_rows(summary):
        written.append(write_misconceptions_chart(summary, out_dir / MISCONCEPTIONS))
        chart = MISCONCEPTIONS
    if fmt == "html":
        report = out_dir / "report.html"
        write_atomic(report, render_html(summary, chart=chart))
    else:
        report = out_dir / "report.md"
        write_atomic(report, render_markdown(summary, chart=chart))
    written.append(report)
    return written


def render_class_brief(summary: ClassSummary, hardest: int = 3) -> str:
    """The class in a few lines: totals, the exercises fewest got right, the slowest, the limits hit."""
    if not summary.submissions:
        return "No submissions."
    lines = [f"Class: {summary.submissions} submission{'s' if summary.submissions != 1 else ''}, "
             f"mean {summary.mean:.2f} / {summary.max_score:g}, median {summary.median:g}"]
    missed = sorted((e for e in summary.exercises if e.full_marks < 1), key=lambda e: (e.full_marks, e.id))
    if missed:
        lines.append("Fewest full marks: " + ", ".join(f"{u(e.id)} {100 * e.full_marks:.0f}%" for e in missed[:hardest]))
    else:
        lines.append("Every exercise: full marks for everyone.")
    if summary.slowest:
        lines.append("Slowest: " + ", ".join(f"{u(name)} {seconds:.1f} s" for name, seconds in summary.slowest[:3]))
    lines.append("Hit a limit: " + (", ".join(f"{u(i.submission)} ({i.what})" for i in summary.limited[:5])
                                    + (f" and {len(summary.limited) - 5} more" if len(summary.limited) > 5 else "")
                                    if summary.limited else "none"))
    return "\n".join(lines)
