"""Record every greenlet switch in the cell's thread with ``greenlet.settrace``.

A switch is the moment the essay describes: a greenlet that would block
registers its I/O with the loop and switches to its parent, the hub; when the
I/O is ready the hub switches back. greenlet calls the trace function on
every switch, after it happened, with ``(origin, target)``; the origin is
suspended then, so its frame tells where in the cell it stopped.

Rules greenlet imposes on a tracer, which this one keeps: it is per thread;
one that raises is silently uninstalled, so this one never raises; and it
chains to the tracer that was installed before it.
"""

from __future__ import annotations

from time import perf_counter

import greenlet


class SwitchRecorder:
    """Context manager: ``events`` holds ``(time, kind, origin_key, target_key, line)``.

    Greenlets are keyed by ``id()`` (gevent reuses ``Greenlet-N`` names) and
    kept in ``greenlets`` while the cell runs, so no key is reused. Past
    ``cap`` events, the rest are counted in ``dropped``; first and last
    switches of every greenlet are still kept in ``first_in``/``ended``.
    """

    def __init__(self, t0: float, line_of, cap: int):
        self.t0 = t0
        #: Maps a suspended frame to the cell line it stands on (or None).
        self.line_of = line_of
        self.cap = cap
        self.events: list[tuple] = []
        self.dropped = 0
        self.greenlets: dict[int, greenlet.greenlet] = {}
        #: First time each greenlet was switched into.
        self.first_in: dict[int, float] = {}
        #: When each greenlet finished (switched out of, dead).
        self.ended: dict[int, float] = {}
        self._previous = None

    def __enter__(self) -> SwitchRecorder:
        self._previous = greenlet.settrace(self._trace)
        return self

    def __exit__(self, *exc_info) -> None:
        greenlet.settrace(self._previous)

    def _trace(self, event, args):
        try:
            origin, target = args
            now = perf_counter() - self.t0
            origin_key, target_key = id(origin), id(target)
            greenlets = self.greenlets
            if target_key not in greenlets:
                greenlets[target_key] = target
                self.first_in[target_key] = now
            if origin_key not in greenlets:
                greenlets[origin_key] = origin
            if origin.dead:
                self.ended[origin_key] = now
            if len(self.events) < self.cap:
                line = None if origin.dead else self.line_of(origin.gr_frame)
                self.events.append((now, event, origin_key, target_key, line))
            else:
                self.dropped += 1
        except BaseException:  # noqa: BLE001 - a raising tracer is silently removed
            pass
        previous = self._previous
        if previous is not None:
            try:
                previous(event, args)
            except BaseException:  # noqa: BLE001 - keep ours installed
                self._previous = None
