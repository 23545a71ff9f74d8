"""One self-contained HTML page of a self-check: every failing check's feedback beside its pictures.

Nothing on the page points elsewhere: the pictures are inlined as `data:` URIs, the style is in the
page, and the feedback's mentions of picture files name the picture shown beside it. A student can
open the page from anywhere, mail it, or keep it.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from ..scoring import CheckResult, SubmissionResult, note_of
from .files import write_atomic
from .pictures import mentioned, rewrite_mentions

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:90em;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin:1.6em 0 .4em}
.check{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start;border-top:1px solid #ddd;padding:.8em 0}
.feedback{flex:1 1 32em;min-width:20em}
.feedback pre{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.92em;margin:.4em 0}
.pictures{flex:1 1 36em;display:flex;flex-direction:column;gap:.6em}
.pictures figure{margin:0}.pictures img{max-width:100%;border:1px solid #ccc}
.pictures figcaption{font-size:.85em;color:#555}
.score{color:#a00;font-weight:bold}.ok{color:#070}
table{border-collapse:collapse}td,th{padding:.15em .7em;text-align:left;border-bottom:1px solid #eee}
"""


def render_page(result: SubmissionResult, title: str | None = None) -> str:
    """The page for one graded submission: a score table, then each failing check (and each passing one with a
    note) with its pictures."""
    e = html.escape
    title = title or f"torchgrade: {result.submission}"
    parts = ["<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(result.submission)}: {result.score:g} / {result.max_score:g} points</h1>",
             "<table><thead><tr><th>exercise</th><th>score</th></tr></thead><tbody>"]
    for exercise in result.exercises:
        cls = "ok" if exercise.first_failure is None else "score"
        parts.append(f"<tr><td><a href='#{e(exercise.id)}'>{e(exercise.id)}</a></td>"
                     f"<td class='{cls}'>{exercise.score:g} / {exercise.max_score:g}</td></tr>")
    parts.append("</tbody></table>")
    failing = [(x, c) for x in result.exercises for c in x.checks if c.status in ("failed", "error")]
    if not failing:
        parts.append("<p class='ok'>Every check passed.</p>")
    for exercise in result.exercises:
        checks = [c for c in exercise.checks if c.status in ("failed", "error") or note_of(c) is not None]
        if not checks:
            continue
        parts.append(f"<h2 id='{e(exercise.id)}'>{e(exercise.id)} — {e(exercise.title)}</h2>")
        for check in checks:
            parts.append(_check_block(exercise.id, check))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _check_block(exercise_id: str, check: CheckResult) -> str:
    e = html.escape
    pictures = _pictures(check)
    block = ["<div class='check'><div class='feedback'>",
             f"<strong>{e(exercise_id)}::{e(check.name)}</strong> "
             f"<span class='score'>{check.score:g} / {check.max_score:g}</span>",
             f"<pre>{e(_text(check.feedback, {name for name, _ in pictures}))}</pre></div>"]
    if pictures:
        block.append("<div class='pictures'>")
        for name, data in pictures:
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            block.append(f"<figure><img src='{uri}' alt='{e(name)}'><figcaption>{e(name)}</figcaption></figure>")
        block.append("</div>")
    block.append("</div>")
    return "\n".join(block)


def _text(feedback: str, shown: set[str]) -> str:
    """The feedback with each picture file it names said as the picture beside it (or, if absent, no file)."""
    return rewrite_mentions(feedback, lambda name: f"the picture {name} ({'beside this text' if name in shown else 'not drawn for this case'})")


def _pictures(check: CheckResult) -> list[tuple[str, bytes]]:
    """The PNG pictures of a check, those its feedback names first."""
    pngs = {Path(name).name: data for name, data in check.attachments.items() if name.lower().endswith(".png")}
    order = [n for n in mentioned(check.feedback) if n in pngs] + [n for n in pngs if n not in mentioned(check.feedback)]
    return [(name, pngs[name]) for name in order]


def write_page(result: SubmissionResult, path: Path, title: str | None = None) -> Path:
    """Write the page atomically; returns its path."""
    path = Path(path)
    write_atomic(path, render_page(result, title))
    return path
