"""The side-by-side report: runs of the same work, on one time axis.

A table first (wall time and the speed-up over the baseline, how much the
requests overlapped, the peak in flight, CPU time, the trace's size), then
the picture: one band per run, every request a thin bar, bars that overlap
stacked into rows. Requests one after another make a staircase on one row;
concurrent ones a block as tall as the number in flight and as short as the
slowest request. Each run's full report, and the code it ran, are one click
away.
"""

from __future__ import annotations

from html import escape

from ..run import Comparison
from .html import HEADLINE, REPORT, picture, render_html, table_html
from .style import STYLE
from .summary import event_word, summarize
from .svg import AXIS, LABEL, PLOT, WIDTH, axis, rect, svg_open
from .tables import Group, Row, Table
from .text import table_lines
from .timeline import first_fit_rows, request_span
from .units import count, seconds, times

#: Height of one row of request bars, and the most rows one run's band gets.
ROW = 4
MAX_ROWS = 40
#: Space above and below each band's bars.
PAD = 8


def comparison_table(comparison: Comparison) -> Table:
    header = ["run", "wall", "speed-up", "requests", "overlap", "peak at once", "CPU", "trace"]
    rows = []
    for label, run in comparison.runs.items():
        s = summarize(run)
        speedup = comparison.speedup(label)
        rows.append(
            Row(
                [
                    label,
                    seconds(run.wall),
                    times(speedup) if speedup else "–",
                    f"{count(s.requests - s.failed)} ok" + (f", {count(s.failed)} failed" if s.failed else ""),
                    times(s.overlap),
                    count(s.peak),
                    seconds(run.cpu),
                    f"{count(s.events)} {event_word(run.model, s.events)}" if s.events else "–",
                ],
                failed=bool(s.failed or run.error),
            )
        )
    return Table(header, [Group(None, rows)], numeric={1, 2, 4, 5, 6})


def headline(comparison: Comparison) -> str:
    walls = " · ".join(f"{label} {seconds(run.wall)}" for label, run in comparison.runs.items())
    return f"{comparison.title}: {walls}"


def render_bands(comparison: Comparison, standalone: bool = False) -> str:
    """Every run's requests as bars, one band per run, on one time axis."""
    span = max((run.wall for run in comparison.runs.values()), default=0.0) or 1e-6
    scale = PLOT / span

    def x(t: float) -> float:
        return LABEL + max(t, 0.0) * scale

    bands, y = [], AXIS
    for label, run in comparison.runs.items():
        ordered = sorted(run.requests, key=lambda r: r.start - r.queued)
        rows = [min(row, MAX_ROWS - 1) for row in first_fit_rows([request_span(r, run.wall) for r in ordered])]
        height = max(rows, default=0) * ROW + ROW + 2 * PAD
        bands.append((label, run, ordered, rows, y, height))
        y += height
    out = svg_open(y + 6, f"{comparison.title}, each run over {seconds(span)}", standalone)
    out += axis(span, x, y)
    for index, (label, run, ordered, rows, top, height) in enumerate(bands):
        if index % 2:
            out.append(rect("band", 0, top, WIDTH, height))
        out.append(
            f'<text class="gtm-label" x="{LABEL - 8}" y="{top + min(height / 2 + 4, 18):.0f}" text-anchor="end">'
            f"{escape(label)} · {seconds(run.wall)}</text>"
        )
        for request, row in zip(ordered, rows):
            start, end = request_span(request, run.wall)
            title = None if standalone else f"{label}: {request.url} {seconds(request.start)} → {seconds(request.end)}"
            kind = "request" if request.ok else "failed"
            # A pixel short, so requests one after another stay apart: a staircase, not a line.
            width = max(x(end) - x(start) - 1, 1.0)
            out.append(rect(kind, x(start), top + PAD + row * ROW, width, ROW - 1, title))
    out.append("</svg>")
    return "".join(out)


def render_comparison_html(comparison: Comparison) -> str:
    details = []
    for label, run in comparison.runs.items():
        code = comparison.code.get(label)
        code = f"<pre>{escape(code)}</pre>" if code else ""
        details.append(f"<details><summary>{escape(label)}: the full report</summary>{code}{render_html(run)}</details>")
    return (
        f'<div class="gtm-report" style="{REPORT}">{STYLE}'
        f'<div class="gtm-headline" style="{HEADLINE}">{escape(headline(comparison))}</div>'
        f"{table_html(comparison_table(comparison))}"
        f"{picture(lambda standalone: render_bands(comparison, standalone), 'each run on one time axis')}"
        f"{''.join(details)}</div>"
    )


def render_comparison_text(comparison: Comparison) -> str:
    return "\n".join([headline(comparison), *table_lines(comparison_table(comparison))])
