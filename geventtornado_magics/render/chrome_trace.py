"""The run as Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) and chrome://tracing.

The same lanes as the timeline, as threads of one process, in the same order:
the cell, the hub or loop, then each greenlet or task. On each thread:

* ``running`` complete events (``"ph": "X"``): when the lane ran (between
  switches for gevent, each callback for Tornado), with the cell line;
* ``switch`` instant events (gevent): each switch out of the lane, with where
  control went and why (``waits``, ``resumed``, ``finished``);
* ``request`` complete events: each HTTP request, from start to end, with its
  status, size and error; ``queued`` ones before it when it waited for a slot.

Unlike the report, the export is not cut short: it has every recorded event.
Times are microseconds from the start of the cell. Save it with::

    json.dump(run.to_chrome_trace(), open("cell.trace.json", "w"))
"""

from __future__ import annotations

from ..run import Run
from .timeline import CELL, loop_lane, running_slices

_US = 1_000_000


def chrome_trace(run: Run) -> dict:
    threads: dict[str, int] = {}

    def tid(name: str | None) -> int:
        return threads.setdefault(name or CELL, len(threads) + 1)

    for name in [CELL, loop_lane(run.model)] + [task.name for task in run.tasks]:
        tid(name)

    lines = run.lines
    events = []
    for lane, start, end, line, label in running_slices(run):
        args = {"then": label} if run.model == "gevent" else {"what": label}
        if line is not None:
            args["line"] = line
            if 1 <= line <= len(lines):
                args["source"] = lines[line - 1].strip()
        events.append(_complete("running", "running", start, end, tid(lane), args))
    if run.model == "gevent":
        for e in run.events:
            args = {"to": e.target, "line": e.line}
            events.append({"name": e.label, "cat": "switch", "ph": "i", "s": "t", "ts": e.time * _US, "pid": 1,
                           "tid": tid(e.source), "args": args})
    for request in run.requests:
        lane = tid(request.task)
        end = run.wall if request.end is None else request.end
        if request.queued:
            queued_at = request.start - request.queued
            events.append(_complete(f"queued: {request.url}", "queued", queued_at, request.start, lane, {}))
        args = {"url": request.url, "status": request.status, "bytes": request.nbytes, "error": request.error}
        events.append(_complete(f"{request.method} {request.url}", "request", request.start, end, lane, args))

    metadata = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": f"%%{run.model} cell"}}]
    for name, number in threads.items():
        thread = {"ph": "M", "pid": 1, "tid": number}
        metadata.append({"name": "thread_name", **thread, "args": {"name": name}})
        metadata.append({"name": "thread_sort_index", **thread, "args": {"sort_index": number}})
    return {
        "traceEvents": metadata + events,
        "displayTimeUnit": "ms",
        "otherData": {"model": run.model, "wall_seconds": run.wall, "dropped": dict(run.dropped)},
    }


def _complete(name: str, category: str, start: float, end: float, tid: int, args: dict) -> dict:
    return {
        "name": name,
        "cat": category,
        "ph": "X",
        "ts": start * _US,
        "dur": max(end - start, 0.0) * _US,
        "pid": 1,
        "tid": tid,
        "args": args,
    }
