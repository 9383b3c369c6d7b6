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

What must survive the sanitizer is also said in inline styles, whose
properties JupyterLab's allow-list keeps (``@jupyterlab/apputils``'s
``sanitizer.ts``: ``font-size``, ``font-weight``, ``color``,
``background-color``, ``text-align``, ``overflow-wrap``, ``min-width``...):
the headline's size and weight, failures and findings as red text on their
own light background (one red cannot reach 4.5:1 contrast on both a white
and a near-black page, a red on pink reads on both), the alignment of
every table cell (JupyterLab aligns cells right by default), and where long
text wraps.
"""

from __future__ import annotations

import base64
from html import escape

from ..run import Run
from .style import STYLE
from .summary import (
    Summary,
    blocking_findings,
    event_word,
    facts,
    headline,
    lane_word,
    origin_of,
    patching_lines,
    patching_summary,
    summarize,
)
from .svg import MAX_WIDTH as PICTURE_MAX_WIDTH
from .svg import WIDTH as PICTURE_WIDTH
from .svg import render_svg
from .tables import Group, Table, request_table, source_listing, trace_table
from .timeline import Timeline, build_timeline
from .tree import task_tree
from .units import clip, count, error_text, plural

#: Characters shown of a wide cell, by kind; the cell's title has all of it. Errors
#: are what a lesson on failures is about: they wrap rather than being cut.
WIDTHS = {"url": 72, "name": 44, "code": 72, "text": 240}
#: Inline styles, kept by JupyterLab's sanitizer for an untrusted notebook.
REPORT = "max-width:1100px"
HEADLINE = "font-size:18px;font-weight:bold;margin:0 0 4px"
#: Red on its own light background: 7:1 on it, whatever the page's theme.
ALERT = "color:#b3261e;background-color:#fdeceb"
CHIP = ALERT + ";padding:1px 5px;border-radius:3px;margin:3px 0"
LEFT, RIGHT = "text-align:left", "text-align:right;white-space:nowrap"
#: Long text in a table cell wraps, so the table fits the report: a URL or a name
#: anywhere (it has no spaces; but no narrower than a short name like ``loop``), an
#: error between words. (JupyterLab's sanitizer keeps ``word-break:break-all`` and
#: ``overflow-wrap:break-word``, not ``anywhere``.)
ANYWHERE = "text-align:left;white-space:normal;word-break:break-all;min-width:3em"
WRAP = {"url": ANYWHERE, "name": ANYWHERE, "code": ANYWHERE, "text": "text-align:left;white-space:normal;overflow-wrap:break-word"}
#: Notes longer than this show their first sentence, the rest one click away.
LONG_NOTE = 110


def render_html(run: Run, timeline: Timeline | None = None) -> str:
    s = summarize(run)
    parts = [f'<div class="gtm-report" style="{REPORT}">', STYLE]
    parts.append(f'<div class="gtm-headline" style="{HEADLINE}">{escape(headline(s))}</div>')
    if run.error is not None:
        parts.append(f'<div class="gtm-error" style="{CHIP};font-weight:bold">{escape(error_text(run.error))}</div>')
    parts.append(_picture(timeline or build_timeline(run)))
    parts.append(f'<div class="gtm-facts">{escape(facts(s, run))}</div>')
    parts += [_finding(finding.text, finding.hint) for finding in blocking_findings(run)]
    parts += [_note(note) for note in run.notes]
    parts.append(_patching(s, run))
    if run.requests:
        parts.append(_requests(run))
    if run.tasks:
        parts.append(_tree(run))
    if run.events:
        parts.append(_trace(run))
    parts.append("</div>")
    return "".join(parts)


def _finding(text: str, hint: str) -> str:
    """What held the loop, in red; what to do about it one click away."""
    line = f'<span style="{CHIP}">blocked: {escape(text)}</span>'
    if not hint:
        return f'<div class="gtm-blocking">{line}</div>'
    return f'<details class="gtm-blocking"><summary>{line}</summary><div class="gtm-hint">{escape(hint)}</div></details>'


def _note(note: str) -> str:
    """A teaching note; a long one as its first sentence, the rest one click away."""
    head, dot, rest = note.partition(". ")
    if len(note) <= LONG_NOTE or not rest:
        return f'<div class="gtm-meta">{escape(note)}</div>'
    return f'<details class="gtm-meta"><summary>{escape(head + dot.strip())}</summary>{escape(rest)}</details>'


def _picture(timeline: Timeline) -> str:
    if not any(lane.marks for lane in timeline.lanes):
        return ""
    return picture(lambda standalone: render_svg(timeline, standalone), "timeline of the cell", timeline.note)


def picture(draw, alt: str, note: str = "") -> str:
    """A picture twice: ``draw(False)`` as live SVG, ``draw(True)`` as its image fallback.

    Neither is drawn narrower than its own width: each scrolls sideways
    instead, so the text in it stays as large as the tables'.
    """
    image = base64.b64encode(draw(True).encode()).decode("ascii")
    note = f'<div class="gtm-note">{escape(note)}</div>' if note else ""
    return (
        '<div class="gtm-picture">'
        f'<div class="gtm-live" style="height:0;overflow:hidden">{draw(False)}</div>'
        f'<div class="gtm-fallback" style="overflow-x:auto"><img alt="{escape(alt)}" '
        f'style="width:100%;min-width:{PICTURE_WIDTH}px;max-width:{PICTURE_MAX_WIDTH}px" src="data:image/svg+xml;base64,{image}"></div>'
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
    origin = origin_of(run)
    summary = f"Requests: {count(len(run.requests))}, by start time" + (f", to {origin}" if origin else "")
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
        f'<tr class="{"gtm-hit" if hits else ""}"><td class="gtm-num" style="{RIGHT}">{n}</td>'
        f'<td class="gtm-num" style="{RIGHT}">{count(hits) if hits else ""}</td>'
        f'<td style="{LEFT};white-space:pre-wrap;word-break:break-all">{escape(clip(text, WIDTHS["code"]))}</td></tr>'
        for n, hits, text in listing
    )
    if more_lines:
        rows += (
            f'<tr><td class="gtm-caption" style="{LEFT}" colspan="3">… {escape(plural(more_lines, "more line"))}</td></tr>'
        )
    head = f'<tr><th class="gtm-num" style="{RIGHT}">line</th><th class="gtm-num" style="{RIGHT}">{word}</th>'
    head += f'<th style="{LEFT}">cell</th></tr>'
    source = f'<table class="gtm-table" style="margin:4px 0"><thead>{head}</thead><tbody>{rows}</tbody></table>'
    summary = f"Trace: {plural(len(run.events), event_word(run.model, 1), word)}, and the cell lines they stood on"
    return (
        f"<details><summary>{escape(summary)}</summary>"
        f'<div class="gtm-columns">{table_html(trace_table(run))}{source}</div></details>'
    )


def table_html(table: Table) -> str:
    width = len(table.header)

    def cell(index: int, text: str, tag: str = "td") -> str:
        if index in table.numeric:
            attrs = f' class="gtm-num" style="{RIGHT}"'
        else:
            attrs = f' style="{WRAP[table.wide[index]] if index in table.wide else LEFT}"'
        shown = clip(text, WIDTHS[table.wide[index]]) if index in table.wide else text
        hover = f' title="{escape(text)}"' if shown != text else ""
        return f"<{tag}{attrs}{hover}>{escape(shown)}</{tag}>"

    def row(r) -> str:
        cells = "".join(cell(i, text) for i, text in enumerate(r.cells))
        return f'<tr class="gtm-failed" style="{ALERT}">{cells}</tr>' if r.failed else f"<tr>{cells}</tr>"

    body = []
    for group in table.groups:
        if group.caption:
            body.append(
                f'<tr><td class="gtm-caption" style="{LEFT}" colspan="{width}">{escape(group.caption)}</td></tr>'
            )
        body += [row(r) for r in group.rows]
    head = "".join(cell(i, text, "th") for i, text in enumerate(table.header))
    return (
        f'<div style="overflow-x:auto"><table class="gtm-table" style="margin:4px 0"><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div>'
    )
