"""Catch what blocks the loop: a greenlet or callback that runs too long without yielding.

Both models have one thread and one loop. When a greenlet runs without
switching back to the hub, or a loop callback runs for long, nothing else
can: no other request makes progress, no timer fires. This is the one
mistake that ruins both models (a ``time.sleep``, an unpatched socket, a
CPU-bound loop), and it is invisible in the code.

gevent's own monitor thread and asyncio's debug mode warn about it after the
fact, with a stack dump on stderr. Here the same idea is tied to the cell:

* the recorders already know *how long* each greenlet ran between switches,
  or each callback ran, so the runs longer than the threshold are found from
  the trace after the cell (exact durations);
* while the cell runs, a watchdog thread looks at the cell's thread every few
  milliseconds, and while it is busy past half the threshold, notes which cell
  line it is on. That is *where* it blocked: the line a greenlet finally
  yields at comes after the blocking call, not at it.

The watchdog only reads ``sys._current_frames()``; it never touches the cell's
thread, and it stops with the cell.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from ..run import Blocking, Run
from ..scope import BLOCKING_THRESHOLD, CellScope


@dataclass
class Stretch:
    """A run of one lane without yielding: from ``start`` for ``duration`` seconds."""

    start: float
    duration: float
    task: str
    #: The cell line where the lane yielded at the end (a fallback for the blocking line).
    yielded_at: int | None = None


class BlockingWatch:
    """Context manager: a watchdog thread sampling the cell line while the thread is busy.

    ``busy_since()`` returns when the cell's thread last gave control to its
    loop (seconds from the cell's start) if it is running cell code now, else ``None``.
    """

    def __init__(self, scope: CellScope, busy_since: Callable[[], float | None], threshold: float = BLOCKING_THRESHOLD):
        self.scope = scope
        self.busy_since = busy_since
        self.threshold = threshold
        #: ``(time, cell line)`` samples taken while the thread was busy.
        self.samples: list[tuple[float, int | None]] = []
        self._thread_id = threading.get_ident()
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="geventtornado_magics-blocking", daemon=True)

    def __enter__(self) -> BlockingWatch:
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._watchdog.join()

    def _watch(self) -> None:
        interval = self.threshold / 5
        while not self._stop.wait(interval):
            since = self.busy_since()
            now = self.scope.now()
            if since is None or now - since < self.threshold / 2:
                continue
            frame = sys._current_frames().get(self._thread_id)
            self.samples.append((now, self.scope.line_of(frame)))

    def blocking(self, stretches: list[Stretch], run: Run) -> list[Blocking]:
        """The stretches past the threshold that held up other work, each with its line and a hint.

        A stretch only blocks when something else was waiting: a request in
        flight (its answer sat unread) or another greenlet or task alive (it
        could not run). The cell's own set-up before it starts anything (a slow
        import, say) holds up nothing, and is not flagged.
        """
        found = []
        for stretch in stretches:
            if stretch.duration < self.threshold or not _others_waiting(stretch, run):
                continue
            end = stretch.start + stretch.duration
            lines = Counter(line for time, line in self.samples if stretch.start <= time <= end and line)
            line = lines.most_common(1)[0][0] if lines else stretch.yielded_at
            found.append(
                Blocking(
                    start=stretch.start,
                    duration=stretch.duration,
                    task=stretch.task,
                    line=line,
                    hint=hint_for(run.source_line(line)),
                )
            )
        return found


def _others_waiting(stretch: Stretch, run: Run) -> bool:
    t = stretch.start
    if any(r.start <= t and (r.end is None or r.end > t) for r in run.requests):
        return True
    return any(
        task.name != stretch.task and task.spawned <= t and (task.end is None or task.end > t) for task in run.tasks
    )


def hint_for(code: str) -> str:
    """What probably blocked, judged from the line of code, and what to do instead."""
    if "time.sleep" in code or code.lstrip().startswith("sleep("):
        return "time.sleep blocks the whole thread; use gevent.sleep or await asyncio.sleep, or patch time"
    if any(word in code for word in ("urlopen", "requests.", "http.client", "socket", ".recv", ".connect")):
        return "a blocking socket call; patch the standard library (gevent) or use a non-blocking client (Tornado)"
    return "CPU-bound work holds the loop; split it up, or run it in a thread or process pool"
