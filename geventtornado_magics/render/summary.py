"""The figures the report opens with, and the plain words every view says them in.

The headline is what a class reads off a projector::

    %%gevent: 3 requests in 510 ms — they overlapped 2.9× — peak 3 at once
    %%gevent: 3 requests in 1.52 s — one after another (1.0×) — peak 1 at once

The *overlap* is the sum of the requests' durations divided by the wall time
of the cell: about 1 when the requests ran one after another, about N when N
ran at once. The *peak* is the most requests open at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..run import Request, Run
from .units import common_origin, count, plural, relative, seconds, times

#: From this overlap on, requests that met are said to have overlapped; below it,
#: the headline gives the bare figure (they met, but the cell mostly did other things).
OVERLAP_THRESHOLD = 1.15


@dataclass(frozen=True)
class Summary:
    model: str
    wall: float
    cpu: float
    requests: int
    failed: int
    #: Sum of the finished requests' durations: their time one after another.
    request_time: float
    #: ``request_time / wall``.
    overlap: float
    #: The most requests open at the same moment.
    peak: int
    #: Switches (gevent) or callbacks (Tornado), recorded or dropped past the cap.
    events: int
    tasks: int
    #: Requests that waited for a free connection (Tornado's ``max_clients``), and how long in all.
    queued: int
    queued_time: float
    dropped: dict[str, int]


def summarize(run: Run) -> Summary:
    request_time = sum(r.end - r.start for r in run.requests if r.end is not None)
    queued = [r.queued for r in run.requests if r.queued > 0]
    return Summary(
        model=run.model,
        wall=run.wall,
        cpu=run.cpu,
        requests=len(run.requests),
        failed=sum(1 for r in run.requests if not r.ok),
        request_time=request_time,
        overlap=request_time / run.wall if run.wall > 0 else 0.0,
        peak=peak_in_flight(run.requests, run.wall),
        events=len(run.events) + run.dropped.get("events", 0),
        tasks=len(run.tasks),
        queued=len(queued),
        queued_time=sum(queued),
        dropped=dict(run.dropped),
    )


def peak_in_flight(requests: list[Request], wall: float) -> int:
    """The most requests open at once. A request still open at the end counts until ``wall``.

    At equal times an end is counted before a start: a connection handed from
    one request to the next is not two requests in flight.
    """
    edges = [(r.start, 1) for r in requests]
    edges += [(wall if r.end is None else r.end, -1) for r in requests]
    edges.sort()
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


#: Models whose runs record a trace and tasks: the magics' own. ``%compare_models``
#: also runs ``sequential`` and ``threads``, which have neither, nor a loop.
TRACED = ("gevent", "tornado")


def lane_word(model: str, number: int = 2) -> str:
    """``greenlet(s)`` for gevent, ``thread(s)`` for threads, ``task(s)`` for Tornado."""
    word = {"gevent": "greenlet", "threads": "thread"}.get(model, "task")
    return word if number == 1 else word + "s"


def event_word(model: str, number: int = 2) -> str:
    """``switch(es)`` for gevent, ``callback(s)`` for Tornado."""
    if model == "gevent":
        return "switch" if number == 1 else "switches"
    return "callback" if number == 1 else "callbacks"


def headline(s: Summary) -> str:
    """``%%gevent: 3 requests in 510 ms — they overlapped 2.9× — peak 3 at once``."""
    # A magic's run is named after it; a run of %compare_models by its model ("threads").
    name = f"%%{s.model}" if s.model in ("gevent", "tornado") else s.model
    if not s.requests:
        # Recorded, not made: a client no recorder watches (raw sockets, pycurl) leaves no row.
        return f"{name}: {seconds(s.wall)} — no HTTP requests recorded"
    parts = [f"{name}: {plural(s.requests, 'request')} in {seconds(s.wall)}"]
    if s.requests > 1:
        if s.peak <= 1:
            parts.append(f"one after another ({times(s.overlap)})")
        elif s.overlap >= OVERLAP_THRESHOLD:
            parts.append(f"they overlapped {times(s.overlap)}")
        else:
            parts.append(f"concurrency {times(s.overlap)}")
        parts.append(f"peak {count(s.peak)} at once")
    return " — ".join(parts)


def facts(s: Summary, run: Run) -> str:
    """The second line: outcomes, totals, counts, patching or queueing, what was dropped."""
    parts = []
    if s.requests:
        parts.append(f"{plural(s.requests, 'request')} ({count(s.requests - s.failed)} ok, {count(s.failed)} failed)")
        parts.append(f"{seconds(s.request_time)} of request time added up")
    if s.queued:
        parts.append(f"{plural(s.queued, 'request')} queued {seconds(s.queued_time)} for a connection")
    if s.model in TRACED:
        parts.append(f"{count(s.events)} {event_word(s.model, s.events)}")
        parts.append(f"{count(s.tasks)} {lane_word(s.model, s.tasks)}")
    if s.cpu:
        parts.append(f"CPU {seconds(s.cpu)}")
    if run.patching is not None:
        patched = run.patching.patched
        how = f" ({', '.join(run.patching.requested_by)})" if run.patching.requested_by else ""
        parts.append(f"patched for this cell only{how}: {', '.join(patched)}" if patched else "nothing patched")
    if s.dropped:
        # Named as in ``run.dropped`` (events, requests, tasks), where the counts live.
        parts.append("not recorded past the caps: " + ", ".join(f"{count(n)} {kind}" for kind, n in s.dropped.items()))
    return " · ".join(parts)


def origin_of(run: Run) -> str:
    """The one server every request went to (``http://127.0.0.1:41234``), or ``""``."""
    return common_origin(r.url for r in run.requests)


@dataclass(frozen=True)
class Finding:
    """Stretches that held the loop at one cell line for one reason, said once."""

    text: str
    hint: str


def blocking_findings(run: Run) -> list[Finding]:
    """What held the loop: who, how long, where, once per line and reason however many did it.

    Three greenlets each sleeping 300 ms at the same line are one finding,
    ``3 greenlets held the loop for 301–303 ms each at line 4 (time.sleep(0.3))``,
    so the picture stays near the top of the report.
    """
    groups: dict[tuple, list] = {}
    for b in run.blocking:
        groups.setdefault((b.line, b.hint), []).append(b)
    origin = origin_of(run)
    findings = []
    for (line, hint), stretches in groups.items():
        where = f" at line {line} ({run.source_line(line)})" if line else ""
        durations = sorted(b.duration for b in stretches)
        if len(stretches) == 1:
            who, how_long = relative(stretches[0].task, origin), seconds(durations[0])
        else:
            names = dict.fromkeys(b.task for b in stretches)
            who = plural(len(names), lane_word(run.model, 1)) if len(names) > 1 else relative(next(iter(names)), origin)
            low, high = seconds(durations[0]), seconds(durations[-1])
            each = "each" if len(names) > 1 else f"{len(stretches)} times"
            how_long = f"{low} {each}" if low == high else f"{low}–{high} {each}"
        findings.append(Finding(f"{who} held the loop for {how_long}{where}", hint))
    return findings


def patching_summary(s: Summary, run: Run) -> str:
    """One line on patching (gevent): nothing patched, or the modules left alone."""
    if run.patching is None:
        return ""
    if not run.patching.patched:
        if s.requests > 1 and s.tasks > 1 and s.peak <= 1:
            return (
                "Nothing was monkey-patched, so each request blocked the whole thread and the greenlets "
                "ran one after another. Call monkey.patch_all() in the cell, or run it as "
                "%%gevent --patch, to make the standard library cooperate."
            )
        return "nothing was monkey-patched for this cell: a blocking call blocks every greenlet"
    refused = run.patching.refused
    return f"left alone: {', '.join(refused)}" if refused else ""


def patching_lines(run: Run) -> list[str]:
    """Why patching left each module alone (gevent); what it patched is in :func:`facts`."""
    if run.patching is None:
        return []
    return [f"{module}: {reason}" for module, reason in run.patching.refused.items()]
