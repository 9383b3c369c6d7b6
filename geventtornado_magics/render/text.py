"""The report as plain text, for terminal IPython and ``repr(run)``.

The same parts as the HTML view, shorter: the headline and facts, a timeline
drawn in characters, the requests table, the tree, and the trace's first and
last entries. Lines stay under about 120 characters: wide columns are cut in
the middle, where a URL or a call is least telling.
"""

from __future__ import annotations

from ..run import Run
from .summary import blocking_findings, event_word, facts, headline, lane_word, patching_lines, patching_summary, summarize
from .tables import Row, Table, request_table, trace_table
from .timeline import Timeline, build_timeline
from .tree import task_tree
from .units import clip, count, cut, error_text, seconds

#: Character columns of the timeline's plot.
COLUMNS = 64
#: Width of the timeline's lane names.
NAME = 28
#: Characters shown of a wide table column, by kind.
WIDTHS = {"url": 40, "name": 24, "code": 30, "text": 30}
#: Lines are wrapped or cut to this width.
LINE = 120
#: Rows of the requests table: first, slowest, failed.
FIRST, SLOWEST, FAILED = 10, 5, 5
#: Trace entries from the start and the end.
HEAD, TAIL = 8, 4
#: How each kind of mark is drawn; later kinds overwrite earlier ones. A character
#: holds one mark, and ``█`` at a bar's ends shows the greenlet running to start it.
GLYPHS = {"blocked": "!", "alive": "·", "hub": "▒", "queued": "░", "request": "─", "failed": "x", "run": "█"}
#: The key printed under the timeline, for the kinds it holds.
KEY = {
    "blocked": "! held the loop",
    "run": "█ ran",
    "hub": "▒ hub in control",
    "request": "─ waited on a request",
    "failed": "x failed",
    "queued": "░ queued",
}


def render_text(run: Run, timeline: Timeline | None = None) -> str:
    s = summarize(run)
    lines = [headline(s), *_wrap(facts(s, run).split(" · "))]
    patching = patching_summary(s, run)
    if patching:
        lines.append(f"  {patching}")
        lines += [f"    {line}" for line in patching_lines(run)]
    lines += [f"  note: {note}" for note in run.notes]
    if run.error is not None:
        lines.append(f"  error: {error_text(run.error)}")
    lines += [f"  blocked: {f.text}: {f.hint}" if f.hint else f"  blocked: {f.text}" for f in blocking_findings(run)]

    picture = draw_timeline(timeline or build_timeline(run))
    if picture:
        lines += ["", "timeline", *picture]
    if run.requests:
        table = request_table(run, first=FIRST, slowest=SLOWEST, failed=FAILED, more=0)
        lines += ["", f"requests ({count(len(run.requests))}), by start time", *table_lines(table)]
        if table.hidden:
            lines.append(f"  … {count(table.hidden)} more: last_run().to_dataframe() has every request")
    if run.tasks:
        lines += ["", f"{lane_word(run.model)} ({count(len(run.tasks))})"]
        lines += [cut(f"  {line.prefix}{clip(line.name, 44)}  {line.note}".rstrip(), LINE) for line in task_tree(run)]
    if run.events:
        word = event_word(run.model)
        lines += ["", f"trace: {count(len(run.events))} {word}", *table_lines(trace_table(run, head=HEAD, tail=TAIL))]
    return "\n".join(lines)


def draw_timeline(timeline: Timeline, columns: int = COLUMNS) -> list[str]:
    """The timeline in characters: ``█`` ran, ``─`` waited on a request, ``x`` failed."""
    if not any(lane.marks for lane in timeline.lanes):
        return []
    scale = columns / timeline.span
    out = []
    for lane in timeline.lanes:
        cells = [" "] * columns
        for kind, glyph in GLYPHS.items():
            for mark in lane.marks:
                if mark.kind == kind:
                    first = min(int(mark.start * scale), columns - 1)
                    last = max(min(int(mark.end * scale), columns - 1), first)
                    cells[first : last + 1] = glyph * (last - first + 1)
        out.append(f"  {clip(lane.name, NAME):>{NAME}} │{''.join(cells)}│")
    end = seconds(timeline.span)
    out.append(f"  {'':>{NAME}}  0{end:>{columns - 1}}")
    if timeline.strip:
        out.append(f"  {'':>{NAME}}  peak {count(timeline.strip.peak)} requests in flight at once")
    kinds = {mark.kind for lane in timeline.lanes for mark in lane.marks}
    out.append(f"  {'':>{NAME}}  " + "  ".join(words for kind, words in KEY.items() if kind in kinds))
    if timeline.note:
        out.append(f"  {timeline.note}")
    return out


def _wrap(parts: list[str]) -> list[str]:
    """Join ``parts`` with `` · `` into lines of at most :data:`LINE` characters."""
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) > LINE:
            lines.append(part)
        else:
            lines[-1] += " · " + part
    return lines


def table_lines(table: Table) -> list[str]:
    def cells(row: Row) -> list[str]:
        return [clip(text, WIDTHS[table.wide[i]]) if i in table.wide else text for i, text in enumerate(row.cells)]

    rows = [cells(r) for r in table.rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(table.header)]

    def line(texts: list[str]) -> str:
        pairs = enumerate(zip(texts, widths, strict=True))
        padded = [text.rjust(w) if i in table.numeric else text.ljust(w) for i, (text, w) in pairs]
        return "  " + "  ".join(padded).rstrip()

    out = [line(table.header)]
    for group in table.groups:
        if group.caption:
            out.append(f"  {group.caption}")
        out += [line(cells(r)) for r in group.rows]
    return out
