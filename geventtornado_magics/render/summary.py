"""The figures every view of a Run starts with, computed once from the Run."""

from __future__ import annotations

from dataclasses import dataclass

from ..run import Run


@dataclass(frozen=True)
class Summary:
    model: str
    wall: float
    cpu: float
    requests: int
    failed: int
    #: Sum of the requests' durations: the time they would take one after another.
    request_time: float
    #: ``request_time / wall``: about 1 for sequential requests, N for N at once.
    concurrency: float
    #: The most requests open at the same moment.
    peak_in_flight: int
    #: Switches (gevent) or callbacks (Tornado) recorded.
    events: int
    tasks: int
    #: Seconds requests spent queued for a connection slot (Tornado).
    queued: float
    dropped: dict

    @property
    def event_word(self) -> str:
        return "switches" if self.model == "gevent" else "callbacks"


def summarize(run: Run) -> Summary:
    done = [r for r in run.requests if r.end is not None]
    request_time = sum(r.end - r.start for r in done)
    return Summary(
        model=run.model,
        wall=run.wall,
        cpu=run.cpu,
        requests=len(run.requests),
        failed=sum(1 for r in run.requests if not r.ok),
        request_time=request_time,
        concurrency=request_time / run.wall if run.wall > 0 else 0.0,
        peak_in_flight=peak_in_flight(run),
        events=len(run.events) + run.dropped.get("events", 0),
        tasks=len(run.tasks),
        queued=sum(r.queued for r in run.requests),
        dropped=dict(run.dropped),
    )


def peak_in_flight(run: Run) -> int:
    """The largest number of requests open at once (an end frees its slot first)."""
    edges = []
    for request in run.requests:
        edges.append((request.start, 1))
        edges.append((request.end if request.end is not None else run.wall, -1))
    edges.sort()
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def seconds(value: float | None) -> str:
    """``0.512 s``, ``12 ms``, ``840 µs``: a duration in the unit that reads best."""
    if value is None:
        return "–"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def count(value: int) -> str:
    return f"{value:,}"
