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
``waiting`` and ``in_flight`` are worked out when they are read (a scan of
the lanes' requests), so opening the replay costs one pass over the events.
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from ..run import Request, Run

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


#: A greenlet spawned that has not run yet; a lane waiting on something the trace does not name.
_NOT_STARTED = Wait("ready", "spawned, not started yet")
_UNSEEN = Wait("I/O", "")


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

    @property
    def label(self) -> str:
        """What happened, in words: ``hub → fetch(...) (resumed)``, ``fd 12 readable: IOStream``."""
        event = self._replay.run.events[self.index]
        if self._replay.run.model == "gevent":
            return f"{event.source} → {event.target}" + (f" ({event.label})" if event.label else "")
        return event.label or event.kind

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
        self._lines = run.lines
        #: What a lane standing at a cell line waits on, by line.
        self._waits_at: dict[int, Wait] = {}
        #: The waiting of the steps last asked for: a frame reads it more than once.
        self._recent: dict[int, dict[str, Wait]] = {}
        #: Per lane, the event indexes where it stands at a cell line, and those lines.
        self._stands: dict[str, tuple[list[int], list[int | None]]] = {}
        #: gevent: the event where each greenlet finished (switched out of, dead).
        self._finished: dict[str, int] = {}
        #: The first step each lane ran in.
        self._first_ran: dict[str, int] = {}
        self.steps: list[Step] = _without_gc(self._steps)
        self._times = [step.time for step in self.steps]
        self.lanes: list[str] = self._lanes()

    def _steps(self) -> list[Step]:
        # One pass, with everything bound locally: a cell of 10,000 requests has over 100,000 events.
        steps: list[Step] = []
        append = steps.append
        stands, first_ran = self._stands, self._first_ran
        gevent = self.run.model == "gevent"
        # gevent: a switch's line is where its origin stopped; the target resumes where it last stopped.
        stopped_at: dict[str, int | None] = {}
        for index, event in enumerate(self.run.events):
            source, line = event.source, event.line
            if gevent:
                stopped_at[source] = line
                if event.label == "finished":
                    self._finished[source] = index
                running, at = event.target, stopped_at.get(event.target)
            else:
                running, at = source, line
                if event.kind != "step":
                    source = None  # a callback: no lane stands anywhere
            if source is not None:
                entry = stands.get(source)
                if entry is None:
                    entry = stands[source] = ([], [])
                entry[0].append(index)
                entry[1].append(line)
            first_ran.setdefault(running, index)
            append(Step(self, index, event.time, running, at))
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

    def _in_flight(self, time: float) -> list[Request]:
        started = self._requests[: bisect_right(self._starts, time)]
        return [r for r in started if r.end is None or r.end > time]

    def _waiting(self, step: Step) -> dict[str, Wait]:
        waiting = self._recent.get(step.index)
        if waiting is None:
            if len(self._recent) >= 16:
                self._recent.clear()
            waiting = self._recent[step.index] = {lane: self._wait_of(lane, step) for lane in self._alive(step)}
        return dict(waiting)  # the cached one stays as computed, whatever the caller does with its copy

    def _alive(self, step: Step):
        """The lanes other than the running one that are alive at ``step``: spawned, not finished."""
        index, time, running = step.index, step.time, step.running
        finished, tasks, never = self._finished, self._tasks, len(self.steps)
        for lane in self.lanes:
            if lane == running or finished.get(lane, never) <= index:
                continue
            task = tasks.get(lane)
            # Lanes without a Task (the cell, the hub or loop, a greenlet not seen spawned) live throughout.
            if task is None or (task.spawned <= time and (task.end is None or time < task.end)):
                yield lane

    def _wait_of(self, lane: str, step: Step) -> Wait:
        if lane == self.loop_lane:
            return Wait("ready", f"runs when {step.running} yields")
        time = step.time
        open_requests = [r for r in self._by_lane.get(lane, ()) if r.start <= time and (r.end is None or r.end > time)]
        if open_requests:
            shown = ", ".join(f"{r.method} {url_label(r.url)}" for r in open_requests[:3])
            more = f" and {len(open_requests) - 3} more" if len(open_requests) > 3 else ""
            return Wait("request", shown + more, self._line_of(lane, step.index))
        if lane in self._tasks and self._first_ran.get(lane, len(self.steps)) > step.index:
            return _NOT_STARTED
        line = self._line_of(lane, step.index)
        if line is None or not 1 <= line <= len(self._lines):
            return _UNSEEN
        wait = self._waits_at.get(line)
        if wait is None:
            text = self._lines[line - 1].strip()
            kind = next((kind for kind, pattern in _WAITS_BY_CALL if pattern.search(text)), "I/O")
            wait = self._waits_at[line] = Wait(kind, f"line {line}: {text}", line)
        return wait

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

    def _ipython_display_(self):
        from .player import show

        show(self)

    def __repr__(self) -> str:
        from ..render.replay import storyboard_text

        return storyboard_text(self)


def _without_gc(build):
    """``build()`` with the cyclic garbage collector paused.

    Making 200,000 steps (a traced cell of 10,000 Tornado fetches) sets off
    collections that scan every object the kernel holds, the Run's events
    included: the build takes 0.4 s with them and 0.17 s without. Pausing
    loses nothing: the collector runs again after, and frees the steps (each
    points back to its replay) when the replay goes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        if enabled:
            gc.enable()


@lru_cache(maxsize=4096)  # a frame labels thousands of requests, mostly of a few URLs
def url_label(url: str) -> str:
    """A request's URL as a class reads it: the path and query (``/delay/0.3``), or the URL."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if parts.netloc and path else url
