"""Record every greenlet switch in the cell's thread with ``greenlet.settrace``.

A switch is the moment the essay describes: a greenlet that would block
registers its I/O with the loop and switches to its parent, the hub; when the
I/O is ready the hub switches back. greenlet calls the trace function on
every switch, after it happened, with ``(origin, target)``; the origin is
suspended then, so its frame tells where in the cell it stopped.

Rules greenlet imposes on a tracer, which this one keeps: it is per thread;
one that raises is uninstalled, and its exception is thrown into the switch's
target, so this one never raises, except a Ctrl-C; and it chains to the
tracer that was installed before it.

Ctrl-C is the exception: the ``KeyboardInterrupt`` that SIGINT raises lands in
whatever Python code runs at that moment, and in a cell that switches a lot
that is often this tracer. Swallowed, the interrupt would be lost; so it goes
on, the way greenlet passes it (thrown into the target, whence gevent hands
a ``KeyboardInterrupt`` to the main greenlet, the cell). greenlet has then
removed the tracer; ``resume()`` puts it back for the cell's cleanup.

The tracer runs on every switch, over 100,000 times in a cell of 10,000
requests, and its records live until the cell ends. So they are stored in
columns: times and greenlet keys as machine numbers (``array``), lines in a
list (mostly None or small ints, which Python shares). A switch costs 32
bytes and gives the garbage collector nothing to scan; a tuple of Python
objects per switch costs about 110 bytes more (a cell of 1,000,000 switches,
of which 200,000 are kept, grows by 67 MB that way and by 45 MB this way).
"""

from __future__ import annotations

from array import array
from time import perf_counter

import greenlet

from ..scope import CellScope, Swapping, Swaps
from .cell_lines import CellLines

#: The place the recorder swaps, as ``scope`` names it (per thread, as greenlet keeps it).
TRACE_FUNCTION = "greenlet's trace function"


class SwitchRecorder(Swapping):
    """Context manager: ``events`` yields ``(time, kind, origin_key, target_key, line)``.

    Greenlets are keyed by ``id()`` (gevent reuses ``Greenlet-N`` names) and
    kept in ``greenlets`` while the cell runs, so no key is reused. Past
    ``cap`` events, the rest are counted in ``dropped``; first and last
    switches of every greenlet are still kept in ``first_in``/``ended``.
    """

    def __init__(self, scope: CellScope, lines: CellLines | None = None):
        # Read from the scope once: the tracer reads them on every switch.
        self.t0 = scope.t0
        #: Says the cell line a greenlet switching out stands on (or None).
        self.where = lines or CellLines(scope)
        self.cap = scope.limits.events
        #: One column per field of a switch; times are seconds since the cell's start.
        self.times = array("d")
        self.origins = array("Q")
        self.targets = array("Q")
        #: A list, not an array: most entries are None or small ints, which
        #: Python shares, so a slot costs 8 bytes and reading it costs nothing.
        self.lines: list[int | None] = []
        #: Indexes of the switches greenlet reported as ``"throw"`` (an
        #: exception thrown into the target); the rest are ``"switch"``.
        self.throws: set[int] = set()
        self.dropped = 0
        self.greenlets: dict[int, greenlet.greenlet] = {}
        #: First time each greenlet was switched into.
        self.first_in: dict[int, float] = {}
        #: When each greenlet finished (switched out of, dead).
        self.ended: dict[int, float] = {}
        #: The greenlet running now, and since when: the blocking watchdog reads them.
        self.running = id(greenlet.getcurrent())
        self.since = 0.0
        self._previous = None

    def swap_in(self, swaps: Swaps) -> None:
        self._previous = swaps.swap_setting(TRACE_FUNCTION, greenlet.gettrace, greenlet.settrace, self._trace)

    def resume(self) -> None:
        """Trace again if greenlet removed the tracer (it passed on a Ctrl-C)."""
        if greenlet.gettrace() is None:
            greenlet.settrace(self._trace)

    @property
    def events(self):
        """An iterator over the switches, oldest first: ``(time, kind, origin, target, line)``."""
        kinds = ["switch"] * len(self.times)
        for index in self.throws:
            kinds[index] = "throw"
        return zip(self.times, kinds, self.origins, self.targets, self.lines)

    def _trace(self, event, args):
        try:
            origin, target = args
            now = perf_counter() - self.t0
            origin_key, target_key = id(origin), id(target)
            self.running, self.since = target_key, now
            greenlets = self.greenlets
            if target_key not in greenlets:
                greenlets[target_key] = target
                self.first_in[target_key] = now
            if origin_key not in greenlets:
                greenlets[origin_key] = origin
            dead = origin.dead
            if dead:
                self.ended[origin_key] = now
            times = self.times
            kept = len(times) < self.cap
            # Looked up first: if it raises, no column is left half-written.
            line = self.where.at_switch(origin, origin_key, target_key, dead, kept and not dead)
            if kept:
                if event != "switch":
                    self.throws.add(len(times))
                times.append(now)
                self.origins.append(origin_key)
                self.targets.append(target_key)
                self.lines.append(line)
            else:
                self.dropped += 1
        except KeyboardInterrupt:
            self._even_columns()
            raise
        except Exception:  # noqa: BLE001 - a raising tracer is removed: lose this switch, not the trace
            self._even_columns()
        previous = self._previous
        if previous is not None:
            try:
                previous(event, args)
            except KeyboardInterrupt:
                raise
            except Exception:  # noqa: BLE001 - keep ours installed
                self._previous = None

    def _even_columns(self) -> None:
        """Drop a switch left half-written by an exception (a Ctrl-C can land between two appends)."""
        kept = min(len(self.times), len(self.origins), len(self.targets), len(self.lines))
        for column in (self.times, self.origins, self.targets, self.lines):
            del column[kept:]
        self.throws.discard(kept)
