"""What the timeline shows, in seconds: lanes and marks, bounded however large the run.

One lane per greenlet or task, plus the cell's own lane and the hub (gevent)
or the loop (Tornado). On each lane:

* ``run`` marks: when the lane ran. gevent: from a switch into the greenlet to
  the next switch out of it. Tornado: while one of its callbacks ran;
* ``hub`` marks: when gevent's hub had control: mostly waiting for I/O while
  every greenlet waited, so they are drawn lighter than ``run`` marks;
* ``request`` and ``failed`` marks: when it waited on an HTTP request, from
  the request's start to its end;
* ``queued`` marks: when a request waited for a free connection first (Tornado);
* ``alive`` marks: from when a greenlet or task was spawned to when it ended;
* ``blocked`` marks: a red band where the lane held the loop while other work
  waited (``run.blocking``).

A lane with several requests open at once (Tornado's cell fetching three URLs,
say) gets one row per request it had open at the same time, right under it
(``cell · 2``, ``cell · 3``): overlapping bars on one row would hide the very
overlap the picture is about. With Tornado's ``max_clients`` that shows as
exactly ten rows.

Three rules keep the picture the same size for 3 requests or 10,000, and for
1,000,000 recorded switches:

* marks closer together than one column of the picture (``span / columns``)
  merge into one, whose title says how many it holds; if there are still more
  than ``max_marks``, the gap that merges them grows until there are not;
* past ``max_lanes``, the remaining greenlets share one lane, which shows
  their requests (when they ran would paint it solid), and a strip shows how
  many requests were in flight over time;
* titles are written only for the marks that are drawn, and each event is
  looked at once, with no string built for it.

The drawing itself is in ``svg.py`` (and ``text.py`` draws a small one).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from ..run import Request, Run
from .summary import TRACED, event_word, lane_word, origin_of, peak_in_flight
from .units import count, plural, relative, seconds, size

CELL = "cell"
#: Columns across the picture: marks closer than one column apart merge.
COLUMNS = 640
#: Lanes drawn one by one; past it, the rest share one lane.
MAX_LANES = 24
#: Marks drawn at most, over all lanes.
MAX_MARKS = 1_500
#: Buckets of the in-flight strip.
STRIP_BUCKETS = 320


@dataclass
class Mark:
    start: float
    end: float
    #: ``run``, ``hub``, ``request``, ``failed``, ``queued``, ``alive`` or ``blocked``.
    kind: str
    title: str


@dataclass
class Lane:
    #: A greenlet's or task's name, ``cell``, ``hub``/``loop``, or ``9,987 more greenlets``.
    name: str
    marks: list[Mark]


@dataclass
class Strip:
    """Requests in flight over time: ``counts[i]`` were open during bucket ``i``."""

    counts: list[int]
    #: The exact peak in flight (a bucket may count requests that never met).
    peak: int


@dataclass
class Timeline:
    span: float
    lanes: list[Lane]
    strip: Strip | None
    #: Something the reader must know to read the picture right, or "".
    note: str = ""


def loop_lane(model: str) -> str | None:
    """The lane of the scheduler itself: gevent's hub, Tornado's IOLoop, or none (sequential, threads)."""
    if model not in TRACED:
        return None
    return "hub" if model == "gevent" else "loop"


def running_slices(run: Run) -> Iterator[tuple[str, float, float, int | None, str]]:
    """``(lane, start, end, line, label)`` for every stretch a lane ran.

    gevent records switches, and a lane runs from the switch into it to the
    next switch out of it: the entry's ``line`` is where it then stopped and
    its ``label`` why (``waits``, ``finished``). Tornado records callbacks,
    each its own slice. Past the events cap the last switch is unknown, so the
    stretch after the last recorded one is not guessed.
    """
    events = run.events
    if run.model != "gevent":
        for e in events:
            yield e.source, e.time, e.time + (e.duration or 0.0), e.line, e.label or e.kind
        return
    since = 0.0
    for e in events:
        yield e.source, since, e.time, e.line, e.label
        since = e.time
    if events and not run.dropped.get("events"):
        yield events[-1].target, since, max(run.wall, since), None, ""


def build_timeline(
    run: Run, columns: int = COLUMNS, max_lanes: int = MAX_LANES, max_marks: int = MAX_MARKS
) -> Timeline:
    span = _span(run)
    rows = _request_rows(run.requests)
    lanes = _DrawnLanes(run, max_lanes, rows)
    gap = span / columns

    hub = loop_lane(run.model) if run.model == "gevent" else None
    running: dict[str, _Packer] = {}
    for lane, start, end, line, label in running_slices(run):
        packer = running.get(lane)
        if packer is None:
            packer = running[lane] = lanes.packer("hub" if lane == hub else "run", lane, gap)
        packer.merge(start, end, 1, (line, label), end - start)

    for r in sorted(run.requests, key=lambda r: r.start):
        end = span if r.end is None else r.end
        lanes.packer("request" if r.ok else "failed", rows.lane[id(r)], gap).merge(r.start, end, 1, r, end - r.start)
    for r in sorted((r for r in run.requests if r.queued), key=lambda r: r.start - r.queued):
        lanes.packer("queued", rows.lane[id(r)], gap).merge(r.start - r.queued, r.start, 1, r, r.queued)

    runs = lanes.runs()
    while sum(len(merged) for merged in runs.values()) > max_marks:
        gap *= 2
        runs = {key: _coarsen(merged, gap) for key, merged in runs.items()}

    titles = _Titles(run)
    drawn = [Lane(name, []) for name in lanes.names()]
    for (kind, index), merged in runs.items():
        name = drawn[index].name
        drawn[index].marks += [Mark(m[0], m[1], kind, titles.of(kind, name, *m)) for m in merged]
    for index, task in lanes.alive():
        end = span if task.end is None else task.end
        title = f"{task.name}: spawned at {seconds(task.spawned)}, {task.state} at {seconds(task.end)}"
        drawn[index].marks.append(Mark(task.spawned, end, "alive", title))
    for b in run.blocking:
        where = f" at line {b.line}: {run.source_line(b.line)}" if b.line else ""
        title = f"{b.task} held the loop {seconds(b.duration)}{where} — {b.hint}"
        drawn[lanes.lane_of(b.task)].marks.append(Mark(b.start, b.start + b.duration, "blocked", title))

    strip = _strip(run, span) if lanes.shared and run.requests else None
    return Timeline(span, drawn, strip, _note(run))


def _span(run: Run) -> float:
    ends = [run.wall, max((r.end or r.start for r in run.requests), default=0.0)]
    if run.events:
        last = run.events[-1]
        ends.append(last.time + (last.duration or 0.0))
    return max(max(ends), 1e-6)


def _note(run: Run) -> str:
    dropped = run.dropped.get("events")
    if not dropped or not run.events:
        return ""
    last, word = seconds(run.events[-1].time), event_word(run.model, dropped)
    return f"The trace stops at {last}: {count(dropped)} later {word} were past the cap and not recorded."


@dataclass
class _RequestRows:
    #: The lane each request is drawn on, by ``id(request)``.
    lane: dict[int, str]
    #: The extra rows under each lane that had requests open at once, in order.
    extra: dict[str, list[str]]


def first_fit_rows(intervals: list[tuple[float, float]]) -> list[int]:
    """A row for each ``(start, end)`` interval, sorted by start, so that no two in a row overlap.

    Each interval takes the lowest row free at its start. Two heaps keep it
    O(n log n) for 10,000 requests all open at once: the busy rows by when
    they free up, and the free rows by number.
    """
    rows: list[int] = []
    busy: list[tuple[float, int]] = []
    free: list[int] = []
    for start, end in intervals:
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        row = heapq.heappop(free) if free else len(busy)
        heapq.heappush(busy, (end, row))
        rows.append(row)
    return rows


def request_span(r: Request, span: float = float("inf")) -> tuple[float, float]:
    """From when the request was made (queue included) to its end, or ``span`` if it never ended."""
    return r.start - r.queued, span if r.end is None else r.end


def _request_rows(requests: list[Request]) -> _RequestRows:
    """Spread each lane's overlapping requests over rows, first fit by start time."""
    by_owner: dict[str, list[Request]] = {}
    for r in sorted(requests, key=lambda r: r.start - r.queued):
        by_owner.setdefault(r.task or CELL, []).append(r)
    lane: dict[int, str] = {}
    extra: dict[str, list[str]] = {}
    for owner, owned in by_owner.items():
        rows = first_fit_rows([request_span(r) for r in owned])
        for r, row in zip(owned, rows):
            lane[id(r)] = owner if row == 0 else f"{owner} · {row + 1}"
        if max(rows) > 0:
            extra[owner] = [f"{owner} · {row + 1}" for row in range(1, max(rows) + 1)]
    return _RequestRows(lane, extra)


class _DrawnLanes:
    """Which lane each name is drawn on: one by one up to ``max_lanes``, then one shared lane."""

    def __init__(self, run: Run, max_lanes: int, rows: _RequestRows):
        self.run = run
        self.max_lanes = max_lanes
        self.order: list[str] = []
        self.index: dict[str, int] = {}
        self.folded: set[str] = set()
        self.packers: dict[tuple[str, int], _Packer] = {}
        loop = loop_lane(run.model)
        # An untraced run (sequential, threads) has lanes only for who made requests.
        for name in ([CELL, loop] if loop else []) + [t.name for t in run.tasks]:
            self.lane_of(name)
            for extra in rows.extra.get(name, ()):
                self.lane_of(extra)

    def lane_of(self, name: str) -> int:
        index = self.index.get(name)
        if index is None:
            if len(self.order) < self.max_lanes - 1:
                self.order.append(name)
                index = len(self.order) - 1
            else:
                self.folded.add(name)
                index = self.max_lanes - 1
            self.index[name] = index
        return index

    def packer(self, kind: str, name: str, gap: float) -> _Packer:
        key = (kind, self.lane_of(name))
        packer = self.packers.get(key)
        if packer is None:
            packer = self.packers[key] = _Packer(gap)
        return packer

    def runs(self) -> dict[tuple[str, int], list]:
        """The merged marks of each ``(kind, lane)``; none of ``run`` on the shared lane."""
        hidden = ("run", self.max_lanes - 1) if self.shared else None
        return {key: packer.finish() for key, packer in self.packers.items() if key != hidden}

    @property
    def shared(self) -> bool:
        """Whether more than one name had to share the last lane."""
        return len(self.folded) > 1

    def names(self) -> list[str]:
        """The lanes' names in drawing order, URLs on the run's one server relative to it."""
        origin = origin_of(self.run)
        names = [relative(name, origin) for name in self.order]
        if self.shared:
            folded = len(self.folded)
            # Request rows are named "owner · n"; a mix of them and tasks are just lanes.
            word = "lanes" if any(" · " in name for name in self.folded) else lane_word(self.run.model, folded)
            names.append(f"{count(folded)} more {word}")
        elif self.folded:
            names += [relative(name, origin) for name in self.folded]
        return names

    def alive(self) -> list:
        """``(lane index, task)`` for the tasks that have a lane of their own."""
        return [(self.index[t.name], t) for t in self.run.tasks if not (self.shared and t.name in self.folded)]


class _Packer:
    """Merges time-ordered intervals closer than ``gap`` into runs.

    A run is ``(start, end, n, first, busy)``: ``n`` intervals, the first one's
    payload (for a title that names it), and the time they covered in all.
    """

    __slots__ = ("busy", "done", "end", "first", "gap", "n", "start")

    def __init__(self, gap: float):
        self.gap = gap
        self.done: list[tuple] = []
        self.n = 0

    def merge(self, start: float, end: float, n: int, first: object, busy: float) -> None:
        """Add a run of ``n`` intervals (often 1), joining the current run if it is close enough."""
        if self.n and start - self.end <= self.gap:
            if end > self.end:
                self.end = end
            self.n += n
            self.busy += busy
            return
        if self.n:
            self.done.append((self.start, self.end, self.n, self.first, self.busy))
        self.start, self.end, self.n, self.first, self.busy = start, end, n, first, busy

    def finish(self) -> list[tuple]:
        if self.n:
            self.done.append((self.start, self.end, self.n, self.first, self.busy))
            self.n = 0
        return self.done


def _coarsen(runs: list[tuple], gap: float) -> list[tuple]:
    """``runs`` merged again with a wider ``gap``."""
    packer = _Packer(gap)
    for run in runs:
        packer.merge(*run)
    return packer.finish()


class _Titles:
    """Hover text for a drawn mark: what it is, when, and the cell line behind it."""

    def __init__(self, run: Run):
        self.run = run
        self.lines = run.lines

    def source(self, line: int | None) -> str:
        if line is None or not 1 <= line <= len(self.lines):
            return ""
        return f"line {line}: {self.lines[line - 1].strip()}"

    def of(self, kind: str, lane: str, start: float, end: float, n: int, first, busy: float) -> str:
        """The title of a mark of ``n`` merged intervals, the first one's payload being ``first``."""
        when = f"{seconds(start)} → {seconds(end)}"
        many = f"{count(n)} times between {seconds(start)} and {seconds(end)}, {seconds(busy)} in all"
        if kind == "hub":
            if n > 1:
                return f"the hub had control {many}"
            return f"the hub had control {when} ({seconds(end - start)}): waiting for I/O and running its callbacks"
        if kind == "run":
            return f"{lane} ran {many}" if n > 1 else self._slice(lane, start, end, *first)
        if kind == "queued":
            if n > 1:
                return f"{count(n)} requests waited for a free connection, {when}"
            return f"queued {seconds(end - start)} for a free connection before {first.method} {first.url}"
        if n > 1:
            failed = " (all failed)" if kind == "failed" else ""
            return f"{plural(n, 'request')}{failed} open {when}"
        return _request_title(first)

    def _slice(self, lane: str, start: float, end: float, line: int | None, label: str) -> str:
        where = self.source(line)
        if self.run.model == "gevent":
            after = {"waits": "then waited", "finished": "then finished", "switch": "then switched away"}.get(label, "")
            text = f"{lane} ran {seconds(start)} → {seconds(end)} ({seconds(end - start)})"
            if after:
                text += f", {after}" + (f" at {where}" if where and label != "finished" else "")
            return text
        text = f"{lane}: {label} at {seconds(start)}, took {seconds(end - start)}"
        return text + (f" — {where}" if where else "")


def _request_title(r: Request) -> str:
    outcome = r.error or (str(r.status) if r.status is not None else "still open at the end")
    parts = [f"{r.method} {r.url} → {outcome}"]
    if r.nbytes:
        parts.append(size(r.nbytes))
    parts.append(f"{seconds(r.start)} → {seconds(r.end)} ({seconds(r.duration)})")
    if r.queued:
        parts.append(f"queued {seconds(r.queued)} first")
    if r.task:
        parts.append(f"by {r.task}")
    return " · ".join(parts)


def _strip(run: Run, span: float, buckets: int = STRIP_BUCKETS) -> Strip:
    """Requests in flight per bucket, by a difference array: one step per request, not per bucket."""
    steps = [0] * (buckets + 1)
    scale = buckets / span
    for r in run.requests:
        first = min(int(r.start * scale), buckets - 1)
        last = min(int((span if r.end is None else r.end) * scale), buckets - 1)
        steps[max(first, 0)] += 1
        steps[max(last, first, 0) + 1] -= 1
    counts, current = [], 0
    for step in steps[:buckets]:
        current += step
        counts.append(current)
    return Strip(counts, peak_in_flight(run.requests, run.wall))
