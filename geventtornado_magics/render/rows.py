"""The report's tables as rows of strings, shared by the text and HTML views.

Long tables keep their head and tail: a run of 10,000 requests shows the
first and last ones, and ``Table.hidden`` says how many are in between. Only
the rows shown are formatted, so a table costs the same for any run size.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..run import Run
from .summary import count, seconds

#: Rows shown in the requests and tasks tables before the middle is elided.
ROW_LIMIT = 40
#: Trace entries shown before the middle is elided.
TRACE_LIMIT = 30


@dataclass
class Table:
    header: list[str]
    #: Rows of cells; ``None`` marks where ``hidden`` rows were left out.
    rows: list[list[str] | None]
    hidden: int = 0


def head_and_tail(items: list, limit: int) -> tuple[list, int]:
    """The first and last ``limit // 2`` items, with ``None`` where items were left out."""
    if len(items) <= limit:
        return list(items), 0
    half = limit // 2
    return items[:half] + [None] + items[-half:], len(items) - 2 * half


def _table(header, items, limit, format_row) -> Table:
    shown, hidden = head_and_tail(items, limit)
    return Table(header, [None if item is None else format_row(item) for item in shown], hidden)


def request_table(run: Run, limit: int = ROW_LIMIT) -> Table:
    tornado = run.model == "tornado"
    header = ["#", "start", "end", "duration", "status", "bytes"]
    header += ["queued"] if tornado else []
    header += ["task" if tornado else "greenlet", "url", "error"]

    def row(item):
        number, request = item
        cells = [
            str(number),
            seconds(request.start),
            seconds(request.end),
            seconds(request.duration),
            "" if request.status is None else str(request.status),
            count(request.nbytes),
        ]
        cells += [seconds(request.queued)] if tornado else []
        return cells + [request.task or "", request.url, request.error or ""]

    ordered = sorted(enumerate(run.requests, 1), key=lambda item: item[1].start)
    return _table(header, ordered, limit, row)


def task_table(run: Run, limit: int = ROW_LIMIT) -> Table:
    header = ["name", "state", "spawned", "started", "ended", "by", "result or error"]

    def row(task):
        return [
            task.name,
            task.state,
            seconds(task.spawned),
            seconds(task.start),
            seconds(task.end),
            task.spawned_by or "",
            task.error or task.result or "",
        ]

    return _table(header, run.tasks, limit, row)


def event_table(run: Run, limit: int = TRACE_LIMIT) -> Table:
    if run.model == "gevent":
        header = ["time", "from", "to", "what", "line", "source"]

        def row(e):
            return [seconds(e.time), e.source, e.target, e.label, _line(e.line), run.source_line(e.line)]

    else:
        header = ["time", "took", "kind", "task", "what", "line", "source"]

        def row(e):
            return [
                seconds(e.time),
                seconds(e.duration),
                e.kind,
                e.source,
                e.label,
                _line(e.line),
                run.source_line(e.line),
            ]

    return _table(header, run.events, limit, row)


def _line(number: int | None) -> str:
    return "" if number is None else str(number)
