"""The report as one self-contained HTML fragment: no script, no network, every string escaped.

Top to bottom: the headline and the facts line, the timeline, the requests
table, the tree of greenlets or tasks, and the trace beside the cell's lines.
Sections past the picture are ``<details>``, so the report stays short.

The timeline is given twice, and each host shows one (see ``docs/report.md``
for the evidence):

* the live SVG, inline: themed by the stylesheet, with hover titles. It sits in
  a box whose inline style has zero height; the stylesheet opens it;
* the same picture as an ``<img>`` of an SVG document (a ``data:`` URI),
  which the stylesheet hides.

Where the ``<style>`` element survives (JupyterLab and Notebook 7 for a
trusted notebook, VS Code, nbconvert, nbviewer) the live SVG shows. Where a
sanitizer removes it (JupyterLab for an untrusted notebook, which also drops
``<svg>`` elements but keeps ``<img>``, ``data:`` sources and inline
``style``; GitHub, which strips stylesheets) the box stays closed and the
image shows instead. Nothing in an image can run a script.
"""

from __future__ import annotations

import base64
from html import escape

from ..run import Run
from .style import STYLE
from .summary import (
    Summary,
    blocking_lines,
    error_text,
    event_word,
    facts,
    headline,
    lane_word,
    patching_lines,
    patching_summary,
    summarize,
)
from .svg import render_svg
from .tables import Group, Table, request_table, source_listing, trace_table
from .timeline import Timeline, build_timeline
from .tree import task_tree
from .units import clip, count, plural

#: Characters shown of a wide cell, by kind; the cell's title has all of it.
WIDTHS = {"url": 72, "name": 44, "text": 60}


def render_html(run: Run, timeline: Timeline | None = None) -> str:
    s = summarize(run)
    parts = ['<div class="gtm-report">', STYLE]
    parts.append(f'<div class="gtm-headline">{escape(headline(s))}</div>')
    parts.append(f'<div class="gtm-facts">{escape(facts(s, run))}</div>')
    parts += [f'<div class="gtm-meta">{escape(note)}</div>' for note in run.notes]
    parts.append(_patching(s, run))
    if run.error is not None:
        parts.append(f'<div class="gtm-error">{escape(error_text(run.error))}</div>')
    parts += [f'<div class="gtm-blocking">blocked: {escape(line)}</div>' for line in blocking_lines(run)]
    parts.append(_picture(timeline or build_timeline(run)))
    if run.requests:
        parts.append(_requests(run))
    if run.tasks:
        parts.append(_tree(run))
    if run.events:
        parts.append(_trace(run))
    parts.append("</div>")
    return "".join(parts)


def _picture(timeline: Timeline) -> str:
    if not any(lane.marks for lane in timeline.lanes):
        return ""
    return picture(lambda standalone: render_svg(timeline, standalone), "timeline of the cell", timeline.note)


def picture(draw, alt: str, note: str = "") -> str:
    """A picture twice: ``draw(False)`` as live SVG, ``draw(True)`` as its image fallback."""
    image = base64.b64encode(draw(True).encode()).decode("ascii")
    note = f'<div class="gtm-note">{escape(note)}</div>' if note else ""
    return (
        '<div class="gtm-picture">'
        f'<div class="gtm-live" style="height:0;overflow:hidden">{draw(False)}</div>'
        f'<img class="gtm-fallback" alt="{escape(alt)}" style="max-width:100%" '
        f'src="data:image/svg+xml;base64,{image}">'
        f"{note}</div>"
    )


def _patching(s: Summary, run: Run) -> str:
    summary, lines = patching_summary(s, run), patching_lines(run)
    if not lines:
        return f'<div class="gtm-meta">{escape(summary)}</div>' if summary else ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<details class="gtm-meta"><summary>{escape(summary)} (why)</summary><ul>{items}</ul></details>'


def _requests(run: Run) -> str:
    table = request_table(run)
    summary = f"Requests: {count(len(run.requests))}, by start time"
    parts = [f"<details open><summary>{escape(summary)}</summary>", table_html(table)]
    if table.more:
        parts.append(
            f"<details><summary>{escape(plural(len(table.more), 'more request'))}</summary>"
            f"{table_html(Table(table.header, [Group(None, table.more)], table.wide, table.numeric))}</details>"
        )
    if table.hidden:
        parts.append(
            f'<div class="gtm-dim">{escape(count(table.hidden))} more not shown: '
            "<code>geventtornado_magics.last_run().to_dataframe()</code> has every request.</div>"
        )
    parts.append("</details>")
    return "".join(parts)


def _tree(run: Run) -> str:
    title = "Greenlets, by parent" if run.model == "gevent" else "Tasks, by who started them"
    lines = []
    for line in task_tree(run):
        name = clip(line.name, WIDTHS["url"])
        hover = f' title="{escape(line.name)}"' if name != line.name else ""
        note = f'  <span class="gtm-dim">{escape(line.note)}</span>' if line.note else ""
        lines.append(f"{escape(line.prefix)}<b{hover}>{escape(name)}</b>{note}")
    return (
        f"<details><summary>{escape(title)}: {escape(plural(len(run.tasks), lane_word(run.model, 1)))}</summary>"
        f'<pre class="gtm-tree">{chr(10).join(lines)}</pre></details>'
    )


def _trace(run: Run) -> str:
    word = event_word(run.model)
    listing, more_lines = source_listing(run)
    rows = "".join(
        f'<tr class="{"gtm-hit" if hits else ""}"><td class="gtm-num">{n}</td>'
        f'<td class="gtm-num">{count(hits) if hits else ""}</td>'
        f'<td style="white-space:pre">{escape(clip(text, WIDTHS["url"]))}</td></tr>'
        for n, hits, text in listing
    )
    if more_lines:
        rows += f'<tr><td class="gtm-caption" colspan="3">… {escape(plural(more_lines, "more line"))}</td></tr>'
    head = f'<tr><th class="gtm-num">line</th><th class="gtm-num">{word}</th><th>cell</th></tr>'
    source = f'<table class="gtm-table"><thead>{head}</thead><tbody>{rows}</tbody></table>'
    summary = f"Trace: {plural(len(run.events), event_word(run.model, 1), word)}, and the cell lines they stood on"
    return (
        f"<details><summary>{escape(summary)}</summary>"
        f'<div class="gtm-columns">{table_html(trace_table(run))}{source}</div></details>'
    )


def table_html(table: Table) -> str:
    width = len(table.header)

    def cell(index: int, text: str, tag: str = "td") -> str:
        css = ' class="gtm-num"' if index in table.numeric else ""
        shown = clip(text, WIDTHS[table.wide[index]]) if index in table.wide else text
        hover = f' title="{escape(text)}"' if shown != text else ""
        return f"<{tag}{css}{hover}>{escape(shown)}</{tag}>"

    def row(r) -> str:
        cells = "".join(cell(i, text) for i, text in enumerate(r.cells))
        return f'<tr class="gtm-failed">{cells}</tr>' if r.failed else f"<tr>{cells}</tr>"

    body = []
    for group in table.groups:
        if group.caption:
            body.append(f'<tr><td class="gtm-caption" colspan="{width}">{escape(group.caption)}</td></tr>')
        body += [row(r) for r in group.rows]
    head = "".join(cell(i, text, "th") for i, text in enumerate(table.header))
    return (
        f'<div style="overflow-x:auto"><table class="gtm-table"><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div>'
    )
