"""Record the greenlets a cell spawns, and stop the ones it leaves running.

gevent calls its spawn callbacks from ``Greenlet.start()``, in the spawning
greenlet, for every ``gevent.spawn``, ``Pool.spawn`` or ``Group.spawn``: that
gives the spawn time and who spawned it. A ``rawlink`` gives the time it
finished. Whatever is still alive when the cell ends is killed: a greenlet
is only scheduled while something switches to the hub, so one left behind
would sit frozen until some later cell happened to run the hub, and then run
inside that cell.

Killed, a greenlet runs its ``finally:`` blocks, which may wait in turn. It
gets ``GRACE`` seconds for them; one still at it then is killed again, which
raises in its cleanup where it waits and so cuts it short. A Ctrl-C while
the cell waits for its leftovers (the user pressing it again) ends that wait
early; it never escapes, so the cell still gets its report.
"""

from __future__ import annotations

from typing import NamedTuple

import gevent
from gevent import Greenlet, getcurrent
from gevent.pool import Group

from ..recorders.naming import call_label, short_repr
from ..scope import CellScope

#: Seconds the greenlets a cell left running get for their ``finally:`` blocks once killed.
GRACE = 1.0
#: Seconds they get to unwind once killed again, their cleanup cut short.
CUT_SHORT = 0.5


class Spawn(NamedTuple):
    """A greenlet the cell spawned."""

    greenlet: Greenlet
    #: Seconds from the cell's start.
    at: float
    #: ``id()`` of the greenlet that spawned it.
    spawner: int
    #: What it runs, e.g. ``print_head('http://…')``: gevent forgets a
    #: greenlet's function and arguments once it ends, so it is taken at spawn.
    name: str


class SpawnedGreenlets:
    """Context manager: ``spawned`` lists a ``Spawn`` per greenlet the cell spawned, up to the cap."""

    def __init__(self, scope: CellScope):
        self.scope = scope
        self.spawned: list[Spawn] = []
        #: The name of each spawned greenlet, by ``id(greenlet)``.
        self.names: dict[int, str] = {}
        self.finished: dict[int, float] = {}
        self.killed: set[int] = set()
        #: Killed, but still in their cleanup after ``GRACE`` s: killed again.
        self.cut_short: set[int] = set()
        #: Alive even so: they ignored being killed twice.
        self.unstoppable: set[int] = set()
        #: The Ctrl-C that came while the cell waited for its leftovers, if one did.
        self.interrupted: KeyboardInterrupt | None = None
        self.dropped = 0

    def __enter__(self) -> SpawnedGreenlets:
        Greenlet.add_spawn_callback(self._on_spawn)
        return self

    def __exit__(self, *exc_info) -> None:
        Greenlet.remove_spawn_callback(self._on_spawn)

    def _on_spawn(self, glet: Greenlet) -> None:
        now = self.scope.now()
        if len(self.spawned) >= self.scope.limits.tasks:
            self.dropped += 1
            return
        name = self.names[id(glet)] = _name_of(glet)
        self.spawned.append(Spawn(glet, now, id(getcurrent()), name))
        glet.rawlink(self._on_finish)

    def _on_finish(self, glet: Greenlet) -> None:
        self.finished[id(glet)] = self.scope.now()

    def kill_leftovers(self) -> None:
        """Kill the greenlets still alive, and wait for them to be gone (see the module's docstring)."""
        alive = [spawn.greenlet for spawn in self.spawned if not spawn.greenlet.dead]
        if not alive:  # nothing to kill: no switch of the runner's own in the cell's trace
            return
        self.killed.update(id(glet) for glet in alive)
        for wait, gone_by in ((GRACE, self.cut_short), (CUT_SHORT, self.unstoppable)):
            if not alive:
                break
            gevent.killall(alive, block=False)
            self._waiting(gevent.joinall, alive, wait)
            alive = [glet for glet in alive if not glet.dead]
            gone_by.update(id(glet) for glet in alive)
        # Let the hub run the callbacks the kills queued (a Ctrl-C that reached a dying greenlet
        # is thrown to this one by one) now, rather than inside the next cell.
        self._waiting(gevent.sleep, 0)

    def _waiting(self, wait, *args) -> None:
        try:
            wait(*args)
        except KeyboardInterrupt as exc:
            self.interrupted = self.interrupted or exc


#: The greenlets a pool or group spawns to run ``map()`` and its kin, by the
#: helper's name in ``gevent.pool.GroupMappingMixin`` or ``gevent._imap``, and
#: the call a student wrote that made it.
POOL_HELPERS = {
    "__map": "map",
    "map_cb": "map_async",
    "apply_cb": "apply_async",
    "IMap": "imap",
    "IMapUnordered": "imap_unordered",
}


def _name_of(glet: Greenlet) -> str:
    # Greenlet._run, private to gevent: what the greenlet runs (gevent keeps no public name for
    # it). Renamed, this raises AttributeError in the spawn callback, which gevent reports.
    run = glet._run
    if getattr(run, "__self__", None) is glet:  # a Greenlet subclass overriding _run
        # An IMap is named before its __init__ stores the mapped function: the call is all there is.
        helper = POOL_HELPERS.get(type(glet).__name__)
        return f"pool.{helper}(…)" if helper else f"{type(glet).__name__}()"
    owner = getattr(run, "__self__", None)
    helper = POOL_HELPERS.get(getattr(run, "__name__", ""))
    if isinstance(owner, Group) and helper and glet.args and callable(glet.args[0]):
        # pool.map(fetch, urls) runs in a helper greenlet of the pool's: named as the student called it.
        func = glet.args[0]
        return f"{type(owner).__name__.lower()}.{helper}({getattr(func, '__qualname__', None) or short_repr(func)})"
    return call_label(run, glet.args, glet.kwargs)
