"""Record the greenlets a cell spawns, and stop the ones it leaves running.

gevent calls its spawn callbacks from ``Greenlet.start()``, in the spawning
greenlet, for every ``gevent.spawn``, ``Pool.spawn`` or ``Group.spawn``: that
gives the spawn time and who spawned it. A ``rawlink`` gives the time it
finished. Whatever is still alive when the cell ends is killed: a greenlet
is only scheduled while something switches to the hub, so one left behind
would sit frozen until some later cell happened to run the hub.
"""

from __future__ import annotations

from time import perf_counter

import gevent
from gevent import Greenlet, getcurrent

from ..recorders.naming import call_label


class SpawnedGreenlets:
    """Context manager: ``spawned`` lists ``(greenlet, spawned_at, spawner_key, name)``.

    ``name`` is what the greenlet runs, e.g. ``print_head('http://…')``. gevent
    forgets a greenlet's function and arguments once it ends, so the label is
    taken at spawn.
    """

    def __init__(self, t0: float, cap: int):
        self.t0 = t0
        self.cap = cap
        self.spawned: list[tuple[Greenlet, float, int, str]] = []
        self.finished: dict[int, float] = {}
        self.killed: set[int] = set()
        self.dropped = 0

    def __enter__(self) -> SpawnedGreenlets:
        Greenlet.add_spawn_callback(self._on_spawn)
        return self

    def __exit__(self, *exc_info) -> None:
        Greenlet.remove_spawn_callback(self._on_spawn)

    def _on_spawn(self, glet: Greenlet) -> None:
        now = perf_counter() - self.t0
        if len(self.spawned) >= self.cap:
            self.dropped += 1
            return
        self.spawned.append((glet, now, id(getcurrent()), _name_of(glet)))
        glet.rawlink(self._on_finish)

    def _on_finish(self, glet: Greenlet) -> None:
        self.finished[id(glet)] = perf_counter() - self.t0

    def kill_leftovers(self, timeout: float = 1.0) -> None:
        """Kill the greenlets still alive; they are reported as ``killed``."""
        alive = [glet for glet, *_ in self.spawned if not glet.dead]
        if not alive:
            return
        self.killed.update(id(glet) for glet in alive)
        gevent.killall(alive, block=True, timeout=timeout)


def _name_of(glet: Greenlet) -> str:
    run = glet._run
    if getattr(run, "__self__", None) is glet:  # a Greenlet subclass overriding _run
        return f"{type(glet).__name__}()"
    return call_label(run, glet.args, glet.kwargs)
