"""The report's tables as rows of plain strings, shared by the HTML and text views.

A table of any length costs the same to draw: past its limit, a table keeps
what a reader looks for first and says how many rows it left out.

* Requests, sorted by start: the first ones, then the slowest and the failed
  among the rest; the next rows go to :attr:`Table.more` (the HTML view puts
  them behind ``<details>``), and :attr:`Table.hidden` counts the remainder,
  which ``run.to_dataframe()`` still has.
* The trace: its first and last entries, each with the cell line it stood on.

Only the rows shown are formatted. Cells hold the full text; the views clip
the wide columns and escape everything.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter

from ..run import Request, Run
from .summary import event_word, lane_word, origin_of
from .units import count, relative, seconds, size

#: Requests shown at the top of the table, by start time.
FIRST_REQUESTS = 20
#: Slowest requests shown from the rest.
SLOWEST_REQUESTS = 10
#: Failed requests shown from the rest (after the slowest).
FAILED_REQUESTS = 10
#: Further requests behind ``<details>``.
MORE_REQUESTS = 200
#: Trace entries shown from the start and from the end.
TRACE_HEAD = 24
TRACE_TAIL = 8
#: Cell lines listed beside the trace.
SOURCE_LINES = 80


@dataclass
class Row:
    cells: list[str]
    failed: bool = False


@dataclass
class Group:
    """Rows under an optional caption, e.g. ``the 10 slowest of the other 9,980``."""

    caption: str | None
    rows: list[Row]


@dataclass
class Table:
    header: list[str]
    groups: list[Group]
    #: Columns holding long text the views clip: index → ``"url"``, ``"name"``, ``"code"``
    #: (a cell line, a callback) or ``"text"`` (an error, in words).
    wide: dict[int, str] = field(default_factory=dict)
    #: Column indexes holding numbers, aligned right.
    numeric: set[int] = field(default_factory=set)
    #: Rows past the limit still worth having one click away.
    more: list[Row] = field(default_factory=list)
    #: Rows in neither the groups nor ``more``.
    hidden: int = 0

    @property
    def rows(self) -> list[Row]:
        return [row for group in self.groups for row in group.rows]


def request_table(
    run: Run,
    first: int = FIRST_REQUESTS,
    slowest: int = SLOWEST_REQUESTS,
    failed: int = FAILED_REQUESTS,
    more: int = MORE_REQUESTS,
) -> Table:
    """One row per request, sorted by start; past the limit, first, slowest and failed."""
    tornado = run.model == "tornado"
    # No "end" column: it is start + took, and the table must fit a narrow notebook.
    header = ["#", "request", "status", "size", "start", "took"]
    header += ["queued"] if tornado else []
    header += [lane_word(run.model, 1), "error"]
    wide = {1: "url", len(header) - 2: "name", len(header) - 1: "text"}
    numeric = {0, 3, 4, 5} | ({6} if tornado else set())

    origin = origin_of(run)

    def row(index: int) -> Row:
        r = run.requests[index]
        cells = [str(index + 1), f"{r.method} {relative(r.url, origin) or '/'}", _status(r), size(r.nbytes)]
        cells += [seconds(r.start), seconds(r.duration)]
        cells += [seconds(r.queued) if r.queued else ""] if tornado else []
        return Row([*cells, relative(r.task or "", origin), r.error or ""], failed=not r.ok)

    requests = run.requests
    ordered = sorted(range(len(requests)), key=lambda i: requests[i].start)
    if len(ordered) <= first + slowest + failed:
        return Table(header, [Group(None, [row(i) for i in ordered])], wide, numeric)

    rest = ordered[first:]
    groups = [Group(None, [row(i) for i in ordered[:first]])]
    chosen = heapq.nlargest(slowest, rest, key=lambda i: _took(requests[i], run.wall))
    groups.append(Group(f"the {len(chosen)} slowest of the other {count(len(rest))}", [row(i) for i in chosen]))
    taken = set(chosen)
    bad = [i for i in rest if not requests[i].ok and i not in taken][:failed]
    if bad:
        groups.append(Group(f"the first {len(bad)} failed of the others", [row(i) for i in bad]))
        taken.update(bad)
    remaining = [i for i in rest if i not in taken]
    return Table(header, groups, wide, numeric, [row(i) for i in remaining[:more]], max(len(remaining) - more, 0))


def _status(request: Request) -> str:
    if request.status is not None:
        return str(request.status)
    return "failed" if request.error else "open"


def _took(request: Request, wall: float) -> float:
    """How long a request took, or has been open at the end of the cell."""
    return (wall if request.end is None else request.end) - request.start


def trace_table(run: Run, head: int = TRACE_HEAD, tail: int = TRACE_TAIL) -> Table:
    """The switch log (gevent) or callback log (Tornado): first and last entries."""
    lines = run.lines
    origin = origin_of(run)

    def source(number: int | None) -> str:
        return lines[number - 1].strip() if number and 1 <= number <= len(lines) else ""

    def where(number: int | None) -> str:
        return "" if number is None else str(number)

    if run.model == "gevent":
        header = ["time", "from", "to", "what", "line", "source"]
        wide, numeric = {1: "name", 2: "name", 5: "code"}, {0, 4}

        def row(e) -> Row:
            names = relative(e.source, origin), relative(e.target, origin)
            return Row([seconds(e.time), *names, e.label, where(e.line), source(e.line)])

    else:
        header = ["time", "took", "kind", "task", "what", "line", "source"]
        wide, numeric = {3: "name", 4: "code", 6: "code"}, {0, 1, 5}

        def row(e) -> Row:
            cells = [seconds(e.time), seconds(e.duration), e.kind, relative(e.source, origin), e.label]
            return Row([*cells, where(e.line), source(e.line)])

    events = run.events
    if len(events) <= head + tail:
        return Table(header, [Group(None, [row(e) for e in events])], wide, numeric)
    between = len(events) - head - tail
    caption = f"… {count(between)} more {event_word(run.model, between)} … the last {tail}:"
    groups = [Group(None, [row(e) for e in events[:head]]), Group(caption, [row(e) for e in events[-tail:]])]
    return Table(header, groups, wide, numeric)


def source_listing(run: Run, limit: int = SOURCE_LINES) -> tuple[list[tuple[int, int, str]], int]:
    """The cell's lines with how many trace entries stood on each: ``([(n, hits, text)], more)``.

    The counts are over every recorded entry, not just the ones the trace
    table shows: they answer "where did this cell wait?".
    """
    hits = Counter(map(attrgetter("line"), run.events))
    lines = run.lines
    return [(n, hits.get(n, 0), text) for n, text in enumerate(lines[:limit], 1)], max(len(lines) - limit, 0)
