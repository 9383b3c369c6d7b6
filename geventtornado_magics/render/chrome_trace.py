"""The run as Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) or chrome://tracing.

One thread per lane; requests are complete events (``"ph": "X"``) on the
lane that made them, switches and callbacks are instants or complete events.
Times are microseconds from the start of the cell.
"""

from __future__ import annotations

from ..run import Run

_US = 1_000_000


def chrome_trace(run: Run) -> dict:
    lanes: dict[str, int] = {}

    def tid(name: str) -> int:
        return lanes.setdefault(name or "cell", len(lanes) + 1)

    events = []
    for request in run.requests:
        end = request.end if request.end is not None else run.wall
        events.append(
            {
                "name": f"{request.method} {request.url}",
                "cat": "request",
                "ph": "X",
                "ts": request.start * _US,
                "dur": (end - request.start) * _US,
                "pid": 1,
                "tid": tid(request.task),
                "args": {"status": request.status, "bytes": request.nbytes, "error": request.error},
            }
        )
    for event in run.events:
        record = {
            "name": event.label or event.kind,
            "cat": event.kind,
            "ts": event.time * _US,
            "pid": 1,
            "tid": tid(event.source),
            "args": {"to": event.target, "line": event.line, "source": run.source_line(event.line)},
        }
        if event.duration is not None:
            record.update(ph="X", dur=event.duration * _US)
        else:
            record.update(ph="i", s="t")
        events.append(record)
    metadata = [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": number, "args": {"name": name}}
        for name, number in lanes.items()
    ]
    metadata.append({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": f"%%{run.model} cell"}})
    return {"traceEvents": metadata + events, "displayTimeUnit": "ms"}
