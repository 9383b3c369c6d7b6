"""A recorded run, one scheduler step at a time: what ran, where, and what everything else waited on.

``run.replay().steps`` has one entry per recorded event (a greenlet switch,
or a callback or task step the loop ran), in order. Nothing is re-run: the
steps are read from the Run's events and requests. Like ``run.py`` this
module imports nothing from IPython, gevent or Tornado.

What a lane that is not running waits on comes from two records:

* its requests: one in flight at the step's time is what it waits on, exactly;
* otherwise the cell line it stands on (where it last gave up control, for
  gevent; where it next resumes, for Tornado), read as the call on that line:
  a ``sleep`` is a timer, ``joinall``/``gather``/``start()`` wait for other
  work, ``get``/``acquire``/``wait`` a lock or queue. A line that says none of
  these is ``I/O`` (a socket, a look-up) with the line as the detail.

A lane spawned but not switched into yet is ``ready``, and so is the hub or
loop while a lane runs. Lanes not yet spawned, or finished, are left out.

A cell of 10,000 requests has tens of thousands of steps; a step's
``waiting`` and ``in_flight`` are worked out when they are read, with a
bisection per lane, so opening the replay costs one pass over the events.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .run import Request, Run

#: What a line's call waits on, first match wins: ``(kind, pattern)``.
_WAITS_BY_CALL = (
    ("timer", re.compile(r"\bsleep\s*\(|call_later|add_timeout|with_timeout")),
    ("join", re.compile(r"joinall|\.join\s*\(|gather\s*\(|\bwait\s*\(|wait_for|\.start\s*\(\)|run_sync|\bawait\s+\w+\s*$")),
    ("lock/queue", re.compile(r"\.(get|put|acquire|wait)\s*\(|Queue|Lock|Semaphore|Event|Condition")),
)

#: What each kind of wait is, in words (the views' legend).
WAIT_KINDS = {
    "request": "an HTTP request in flight",
    "timer": "a timer (a sleep, a timeout)",
    "join": "other greenlets or tasks to finish",
    "lock/queue": "a lock, queue or event",
    "I/O": "I/O the recorders do not see (a socket, a look-up)",
    "ready": "nothing: ready to run when the running lane yields",
}


@dataclass(frozen=True, slots=True)
class Wait:
    """What one lane waits on at a step: ``kind`` (a key of ``WAIT_KINDS``), the detail, the cell line it stands on."""

    kind: str
    what: str = ""
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}" if self.what else self.kind


@dataclass(slots=True, eq=False)
class Step:
    """One recorded event: who ran from ``time``, at which cell line, and the state of the rest.

    ``running`` is the lane that runs (the greenlet switched to, or the task or
    loop whose callback ran); ``line`` the cell line it runs at (None outside
    the cell, or for a greenlet's first start); ``label`` what happened.
    """

    _replay: Replay = field(repr=False)
    index: int
    time: float
    running: str
    line: int | None
    label: str

    @property
    def waiting(self) -> dict[str, Wait]:
        """Every other lane alive at this step, mapped to what it waits on."""
        return self._replay._waiting(self)

    @property
    def in_flight(self) -> list[Request]:
        """The requests open at this step's time, by start."""
        return self._replay._in_flight(self.time)

    def __repr__(self) -> str:
        where = f" line {self.line}" if self.line else ""
        return f"<Step {self.index} at {self.time:.4f} s: {self.running}{where} ({self.label})>"


@dataclass(frozen=True, slots=True)
class KeyStep:
    """A step worth a frame of the storyboard, and why."""

    index: int
    why: str


class Replay:
    """The steps of one Run. Display it in a notebook to step through them."""

    def __init__(self, run: Run):
        self.run = run
        self.loop_lane = "hub" if run.model == "gevent" else "loop"
        self._requests = sorted(run.requests, key=lambda r: r.start)
        self._starts = [r.start for r in self._requests]
        self._by_lane: dict[str, list[Request]] = {}
        for request in self._requests:
            self._by_lane.setdefault(request.task or "cell", []).append(request)
        self._tasks = {task.name: task for task in run.tasks}
        #: Per lane, the event indexes where it stands at a cell line, and those lines.
        self._stands: dict[str, tuple[list[int], list[int | None]]] = {}
        #: gevent: the event where each greenlet finished (switched out of, dead).
        self._finished: dict[str, int] = {}
        #: The first step each lane ran in.
        self._first_ran: dict[str, int] = {}
        self.steps: list[Step] = self._steps()
        self._times = [step.time for step in self.steps]
        for step in reversed(self.steps):
            self._first_ran[step.running] = step.index
        self.lanes: list[str] = self._lanes()

    def _steps(self) -> list[Step]:
        steps = []
        stands = self._stands
        if self.run.model == "gevent":
            # A switch's line is where its origin stopped; the target resumes where it last stopped.
            stopped_at: dict[str, int | None] = {}
            for index, event in enumerate(self.run.events):
                stopped_at[event.source] = event.line
                if event.label == "finished":
                    self._finished[event.source] = index
                positions, lines = stands.setdefault(event.source, ([], []))
                positions.append(index)
                lines.append(event.line)
                label = f"{event.source} → {event.target}" + (f" ({event.label})" if event.label else "")
                steps.append(Step(self, index, event.time, event.target, stopped_at.get(event.target), label))
        else:
            for index, event in enumerate(self.run.events):
                if event.kind == "step":
                    positions, lines = stands.setdefault(event.source, ([], []))
                    positions.append(index)
                    lines.append(event.line)
                steps.append(Step(self, index, event.time, event.source, event.line, event.label or event.kind))
        return steps

    def _lanes(self) -> list[str]:
        """Every lane, in the timeline's order: the cell, the greenlets or tasks, the hub or loop."""
        names = dict.fromkeys(["cell", *self._tasks])
        names.update(dict.fromkeys(step.running for step in self.steps))
        names.pop(self.loop_lane, None)
        return [*names, self.loop_lane]

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    def _alive(self, lane: str, step: Step) -> bool:
        if self._finished.get(lane, len(self.steps)) <= step.index:
            return False
        task = self._tasks.get(lane)
        if task is None:
            return True  # the cell, the hub or loop, or a greenlet the recorders did not see spawned
        return task.spawned <= step.time and (task.end is None or step.time < task.end)

    def _in_flight(self, time: float) -> list[Request]:
        started = self._requests[: bisect_right(self._starts, time)]
        return [r for r in started if r.end is None or r.end > time]

    def _waiting(self, step: Step) -> dict[str, Wait]:
        waiting = {}
        for lane in self.lanes:
            if lane != step.running and self._alive(lane, step):
                waiting[lane] = self._wait_of(lane, step)
        return waiting

    def _wait_of(self, lane: str, step: Step) -> Wait:
        if lane == self.loop_lane:
            return Wait("ready", f"runs when {step.running} yields")
        open_requests = [r for r in self._by_lane.get(lane, ()) if r.start <= step.time and (r.end is None or r.end > step.time)]
        if open_requests:
            shown = ", ".join(f"{r.method} {url_label(r.url)}" for r in open_requests[:3])
            more = f" and {len(open_requests) - 3} more" if len(open_requests) > 3 else ""
            return Wait("request", shown + more, self._line_of(lane, step.index))
        if lane in self._tasks and self._first_ran.get(lane, len(self.steps)) > step.index:
            return Wait("ready", "spawned, not started yet")
        line = self._line_of(lane, step.index)
        if line is None:
            return Wait("I/O", "")
        text = self.run.source_line(line)
        kind = next((kind for kind, pattern in _WAITS_BY_CALL if pattern.search(text)), "I/O")
        return Wait(kind, f"line {line}: {text}", line)

    def _line_of(self, lane: str, index: int) -> int | None:
        """The cell line ``lane`` stands on at event ``index``.

        gevent: where it last switched out (at or before ``index``). Tornado:
        the line its next step resumes at, which is where it stands now; past
        its last step, where its last step stood.
        """
        positions, lines = self._stands.get(lane, ((), ()))
        if not positions:
            return None
        if self.run.model == "gevent":
            at = bisect_right(positions, index) - 1
            return lines[at] if at >= 0 else None
        at = bisect_right(positions, index)
        return lines[min(at, len(lines) - 1)]

    def next_request_event(self, index: int) -> int | None:
        """The first step at or after the next request start or end later than step ``index``; None if none."""
        if not self.steps:
            return None
        now = self.steps[index].time
        later = [t for r in self._requests for t in (r.start, r.end) if t is not None and t > now]
        if not later:
            return None
        at = bisect_left(self._times, min(later))
        return at if at < len(self.steps) else None

    def key_steps(self, limit: int = 8) -> list[KeyStep]:
        """The steps a storyboard shows: the first, the requests' milestones, where the loop was held, the last."""
        if not self.steps:
            return []
        candidates = [KeyStep(0, "the first step")]
        requests = self._requests
        if requests:
            candidates.append(self._at(requests[0].start, f"the first request starts: {url_label(requests[0].url)}"))
            done = sorted((r for r in requests if r.end is not None), key=lambda r: r.end)
            if done:
                candidates.append(self._at(done[0].end, f"the first request finishes: {url_label(done[0].url)}"))
            peak_time, peak = self._peak()
            if peak > 1:
                candidates.append(self._at(peak_time, f"the most requests in flight: {peak:,}"))
        for stretch in self.run.blocking[:2]:
            candidates.append(self._at(stretch.start, f"{stretch.task} holds the loop"))
        if requests and len(requests) > 1 and done:
            candidates.append(self._at(done[-1].end, f"the last request finishes: {url_label(done[-1].url)}"))
        candidates.append(KeyStep(len(self.steps) - 1, "the last step"))
        chosen: dict[int, KeyStep] = {}
        for key in candidates:
            if len(chosen) < limit:
                chosen.setdefault(key.index, key)
        return sorted(chosen.values(), key=lambda key: key.index)

    def _at(self, time: float, why: str) -> KeyStep:
        """The first step at or after ``time`` (the last step if none), for ``why``."""
        return KeyStep(min(bisect_left(self._times, time), len(self.steps) - 1), why)

    def _peak(self) -> tuple[float, int]:
        edges = sorted([(r.start, 1) for r in self._requests] + [(r.end, -1) for r in self._requests if r.end is not None])
        best_time, peak, current = 0.0, 0, 0
        for time, change in edges:
            current += change
            if current > peak:
                best_time, peak = time, current
        return best_time, peak

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .player import replay_bundle

        return replay_bundle(self)

    def __repr__(self) -> str:
        from .render.replay import storyboard_text

        return storyboard_text(self)


def url_label(url: str) -> str:
    """A request's URL as a class reads it: the path and query (``/delay/0.3``), or the URL."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if parts.netloc and path else url
