"""Run a cell under gevent, in the kernel's main thread, and record what happened.

The cell body runs in the thread's main greenlet, exactly where a script's
top level would run: ``gevent.spawn`` schedules greenlets on the hub, and
``joinall`` (or any cooperative wait) switches to the hub, whose parent is
that main greenlet. Around it, for the cell only:

* monkey patching is scoped (``patching``);
* recorders watch switches, spawned greenlets and HTTP requests;
* ``--timeout`` is a ``gevent.Timeout`` on the main greenlet.

Whatever way the cell ends (value, exception, timeout, Ctrl-C), the greenlets
it left running are killed while patching is still in place, then every
recorder and patch is undone, and a Run is returned. The caller re-raises
``run.error``; the runner never does, so the report of a failed cell exists.
"""

from __future__ import annotations

import contextlib
import threading
from itertools import chain
from time import process_time

import gevent
from gevent import getcurrent
from gevent.hub import get_hub

from ..cell import compile_cell
from . import notes
from .patching import ScopedPatching
from ..recorders.blocking import BlockingWatch, Stretch
from .cell_lines import CellLines, code_objects
from .switches import SwitchRecorder
from ..recorders.http_client import HttpClientRecorder
from ..render.units import error_text
from ..recorders.naming import numbered, short_repr
from .failures import QuietFailures
from .spawned import SpawnedGreenlets
from ..run import CellTimeout, Event, Run, Task
from ..scope import CellOptions, CellScope, dropped_past_caps


def run_gevent_cell(
    shell,
    source: str,
    options: CellOptions = CellOptions(),
    *,
    patch: bool = False,
    allow_patching: bool = True,
) -> Run:
    """Run ``source`` under gevent in ``shell``'s namespace; return its Run.

    Greenlets that ran ``options.blocking_threshold`` seconds or more without yielding
    while other work waited are in ``run.blocking`` (traced runs only; None:
    off). ``allow_patching=False`` refuses every monkey patch (the second run
    of ``--compare``). Raises only for a cell that does not compile
    (``SyntaxError``).
    """
    cell = compile_cell(shell, source)
    run = Run(model="gevent", source=source)
    main = getcurrent()
    scope = CellScope(cell.filename, cell.line_offset, options.limits)
    cpu0 = process_time()
    with contextlib.ExitStack() as stack:
        hub = stack.enter_context(_hub_parented_here())
        had_threadpool = _has_threadpool(hub)
        patching = stack.enter_context(ScopedPatching(allowed=allow_patching))
        http = stack.enter_context(HttpClientRecorder(scope, _requester()))
        spawned = stack.enter_context(SpawnedGreenlets(scope))
        stack.enter_context(QuietFailures(hub, spawned))
        switches = None
        if options.trace:
            lines = stack.enter_context(CellLines(scope, code_objects(cell), id(hub)))
            switches = stack.enter_context(SwitchRecorder(scope, lines))
        watch = None
        if switches is not None and options.blocking_threshold:
            hub_key = id(hub)

            def busy_since() -> float | None:
                return None if switches.running == hub_key else switches.since

            watch = stack.enter_context(BlockingWatch(scope, busy_since, options.blocking_threshold))
        try:
            if patch:
                patching.patch_now()
            with _deadline(options.timeout):
                run.value = cell.run(shell)
        except BaseException as exc:  # noqa: BLE001 - reported; the magic re-raises it
            interrupted = isinstance(exc, (KeyboardInterrupt, CellTimeout))
            tb = cell.user_traceback(exc.__traceback__, cell_frames_only=interrupted)
            run.error = exc.with_traceback(tb or exc.__traceback__)
        finally:
            if switches is not None:
                switches.resume()
            spawned.kill_leftovers()
            if not had_threadpool:
                _release_threadpool(hub)
    if run.error is None and spawned.interrupted is not None:
        run.error = spawned.interrupted.with_traceback(None)  # Ctrl-C while the leftovers were killed
    run.wall = scope.now()
    run.cpu = process_time() - cpu0
    run.patching = patching.report

    lanes = _GreenletLaneNames(hub, main, spawned)
    run.tasks = _tasks(spawned, switches, lanes)
    run.requests = [fetched.request for fetched in http.fetched]
    for fetched in http.fetched:
        fetched.request.task = lanes.name(fetched.lane)
    if switches is not None:
        run.events = _events(switches, lanes)
    run.dropped = dropped_past_caps(switches.dropped if switches else 0, http.dropped, spawned.dropped)
    if watch is not None:
        run.blocking = watch.blocking(_long_runs(run, watch.threshold), run)
    run.notes = notes.report_notes(spawned)
    return run


@contextlib.contextmanager
def _hub_parented_here():
    """gevent's hub, parented to the cell's greenlet while the cell runs, then to the thread's main one.

    The hub's parent is where it sends ``LoopExit`` when the loop runs dry (so
    only it may call ``gevent.wait()``) and a Ctrl-C; gevent makes it the
    greenlet that first asks for the hub. When the first ``%%gevent`` cell
    runs nested in a ``%%tornado`` cell, that is the portal's short-lived
    step: left so, the hub would outlive its parent and ``gevent.wait()`` fail
    in every later cell. A top-level cell runs in the thread's main greenlet.
    """
    hub = get_hub()
    main = getcurrent()
    while main.parent is not None:
        main = main.parent
    hub.parent = getcurrent()
    try:
        yield hub
    finally:
        hub.parent = main


def _requester():
    """Who makes a request: in the cell's thread the greenlet's key, in another thread that thread's name.

    A thread that was running before the cell (a pool from an earlier cell, a
    background poller) says so: it may be the cell's doing, or not.
    """
    cell_thread = threading.current_thread()
    before = set(threading.enumerate())

    def requester() -> int | str:
        thread = threading.current_thread()
        if thread is cell_thread:
            return id(getcurrent())
        return f"{thread.name} (from before the cell)" if thread in before else thread.name

    return requester


def _deadline(timeout: float | None):
    if not timeout:
        return contextlib.nullcontext()
    return gevent.Timeout(timeout, CellTimeout(notes.timed_out(timeout)))


def _has_threadpool(hub) -> bool:
    # Hub._threadpool, private to gevent.hub: whether the pool exists, where ``hub.threadpool``
    # would start one. Renamed, this raises AttributeError and every %%gevent cell fails loudly.
    return hub._threadpool is not None


def _release_threadpool(hub) -> None:
    """Stop the worker threads the cell made the hub start (DNS look-ups run there).

    A later cell that needs them gets a fresh pool; meanwhile the kernel has
    no threads it did not have before the cell.
    """
    if not _has_threadpool(hub):
        return
    hub.threadpool.kill()
    del hub.resolver
    del hub.threadpool


class _GreenletLaneNames:
    """Names for greenlet keys: ``cell``, ``hub``, or what a spawned greenlet runs."""

    def __init__(self, hub, main, spawned: SpawnedGreenlets):
        self._names = {id(hub): "hub", id(main): "cell"}
        self._names.update(numbered((id(spawn.greenlet), spawn.name) for spawn in spawned.spawned))

    def name(self, key, glet=None) -> str:
        if isinstance(key, str):  # another thread, by its name
            return key
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = getattr(glet, "name", None) or f"greenlet-{len(self._names) - 1}"
        return name


def _tasks(spawned: SpawnedGreenlets, switches, lanes: _GreenletLaneNames) -> list[Task]:
    tasks = []
    for spawn in spawned.spawned:
        glet = spawn.greenlet
        key = id(glet)
        task = Task(
            name=lanes.name(key),
            key=key,
            spawned=spawn.at,
            start=switches.first_in.get(key) if switches else None,
            end=spawned.finished.get(key) or (switches.ended.get(key) if switches else None),
            spawned_by=lanes.name(spawn.spawner),
            parent="hub",
        )
        if not glet.dead:
            task.state = "running"  # it ignored being killed twice
        elif key in spawned.cut_short:
            task.state = "cleanup cut short"
        elif key in spawned.killed:
            task.state = "killed"
        elif glet.exception is not None:
            task.state = "failed"
            task.error = error_text(glet.exception)
        else:
            task.result = short_repr(glet.value)
        tasks.append(task)
    return tasks


def _events(switches: SwitchRecorder, lanes: _GreenletLaneNames) -> list[Event]:
    greenlets, ended = switches.greenlets, switches.ended
    # Each lane's name, resolved once per greenlet rather than twice per switch,
    # in the order the trace first meets it (greenlets without a name are numbered so).
    first_met = dict.fromkeys(chain.from_iterable(zip(switches.origins, switches.targets)))
    names = {key: lanes.name(key, greenlets.get(key)) for key in first_met}
    events = []
    for time, kind, origin, target, line in switches.events:
        source, destination = names[origin], names[target]
        if ended.get(origin) == time:
            label = "finished"
        elif destination == "hub":
            label = "waits"
        elif source == "hub":
            label = "resumed"
        else:
            label = "switch"
        events.append(Event(time, kind, source, destination, label, line))
    return events


def _long_runs(run: Run, threshold: float) -> list[Stretch]:
    """Where a greenlet ran ``threshold`` seconds or more between switches: the hub waited meanwhile.

    After a switch its target runs until the next switch, whose ``line`` is
    where it stopped; before the first switch the cell itself runs.
    """
    stretches = []
    since, lane = 0.0, "cell"
    for event in run.events:
        if lane != "hub" and event.time - since >= threshold:
            stretches.append(Stretch(since, event.time - since, lane, event.line))
        since, lane = event.time, event.target
    return stretches
