"""Run a cell on the kernel's own event loop, the Tornado way, and record what happened.

The kernel's loop is an asyncio loop and ``IOLoop.current()`` wraps it, so a
``%%tornado`` cell is a coroutine awaited on that loop, like any cell with a
top-level ``await``: the kernel keeps serving comms and output while it runs.
Around the cell's code, for the cell only:

* its work on the shared loop is told from the kernel's by a context variable
  (``work``);
* the code runs in a greenlet ``Portal``, so script-style blocking calls work:
  ``IOLoop.start()``, ``run_sync()``, and ``fetch(url, callback)``
  (``script_style``);
* recorders watch its tasks, its HTTP requests and, unless ``--no-trace``,
  every callback the loop runs for it;
* ``--timeout`` and Ctrl-C cancel the cell at its next wait.

Whatever way the cell ends (value, exception, timeout, Ctrl-C), the fetches
it left open are aborted, its tasks, callbacks and timers cancelled, then
every recorder and patch undone, and a Run returned. The caller re-raises
``run.error``; the runner never does, so the report of a failed cell exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from dataclasses import dataclass
from time import process_time
from typing import Callable

from tornado.ioloop import IOLoop

from ..cell import CompiledCell, compile_cell
from .work import CellWork, TornadoScope, first_done, outside_the_cell
from .tasks import CellTasks
from ..recorders.blocking import BlockingWatch, Stretch
from .callbacks import LoopCallbacks
from ..recorders.naming import numbered
from .http import TornadoHttpRecorder
from ..run import CellTimeout, Event, Run, Task
from ..scope import CellOptions, Swapping, Swaps, dropped_past_caps
from . import notes
from .portal import Portal
from .script_style import BlockingLoop, CallbackFetch
from .serial import OneRequestAtATime
from .sync_client import BlockingHttpClient
from ..recorders.http_client import HttpClientRecorder
from .other_clients import OtherHttpClients
from .leftovers import Leftovers

#: How long the tasks a cell left behind get to finish cancelling (their finally blocks).
_CANCEL_GRACE = 1.0
#: How long they get once cancelled again, inside a cleanup that outlasted the grace.
_SECOND_GRACE = 0.5


async def run_tornado_cell(
    shell,
    source: str,
    options: CellOptions = CellOptions(),
    *,
    serial: bool = False,
) -> Run:
    """Run ``source`` on the running loop in ``shell``'s namespace; return its Run.

    Callbacks of the cell that ran ``options.blocking_threshold`` seconds or more while
    other work waited are in ``run.blocking`` (traced runs only; None: off).
    ``serial`` runs it with Tornado's HTTP clients sending one request at a time
    (the second run of ``--compare``; httpx, aiohttp and urllib are not limited).
    Raises only for a cell that does not compile (``SyntaxError``).
    """
    cell = compile_cell(shell, source, allow_await=True)
    run = Run(model="tornado", source=source)
    loop = asyncio.get_running_loop()
    cell_task = asyncio.current_task()
    portal = Portal(cell.run_async(shell))
    cpu0 = process_time()
    with contextlib.ExitStack() as stack:
        work = stack.enter_context(CellWork(loop))
        scope = TornadoScope(
            work, cell_task, portal, filename=cell.filename, line_offset=cell.line_offset, limits=options.limits
        )
        callbacks = stack.enter_context(LoopCallbacks(scope)) if options.trace else None
        watch = None
        if callbacks is not None and options.blocking_threshold:
            watch = stack.enter_context(BlockingWatch(scope, callbacks.busy_since, options.blocking_threshold))
        tasks = stack.enter_context(CellTasks(scope, on_runner_step=callbacks.runner_step if callbacks else None))
        http = stack.enter_context(TornadoHttpRecorder(scope, tasks.current_key))
        others = stack.enter_context(OtherHttpClients(scope, tasks.current_key))
        blocking_http = stack.enter_context(HttpClientRecorder(scope, _requester(tasks)))
        bridged = stack.enter_context(BlockingLoop(IOLoop.current(), scope))
        old_style = stack.enter_context(CallbackFetch(scope))
        sync_client = stack.enter_context(BlockingHttpClient(scope))
        if serial:
            stack.enter_context(OneRequestAtATime())
        stopper = _Stopper(cell_task, options.timeout, on_stop=lambda reason: http.abort_pending(notes.ABORTED[reason]))
        # Outside the stopper, so that its SIGINT handler gives way to the cleanup's with no gap.
        with _CleanupInterrupt(loop) as interrupt:
            try:
                with stopper:
                    run.value = await portal
            except BaseException as exc:  # noqa: BLE001 - reported; the magic re-raises it
                run.error = _user_error(exc, stopper, cell, options.timeout)
            await stopper.absorb_late_cancel()
            leftovers = Leftovers(scope)
            ending = await _cancel_leftovers(work, http, leftovers, interrupt.pressed)
        if interrupt.pressed.done() and run.error is None:
            run.error = KeyboardInterrupt(notes.INTERRUPTED_IN_CLEANUP)
    run.wall = scope.now()
    run.cpu = process_time() - cpu0

    lanes = _TaskLaneNames(cell_task, tasks)
    run.tasks = _tasks(tasks, callbacks, lanes, ending)
    fetched = [*http.fetched, *others.fetched, *blocking_http.fetched]
    run.requests = [one.request for one in fetched]
    for one in fetched:
        one.request.task = lanes.name(one.lane)
    if callbacks is not None:
        run.events = [
            Event(event.time, event.kind, lanes.name(event.lane), label=event.label, line=event.line, duration=event.duration)
            for event in callbacks.events
        ]
    run.dropped = dropped_past_caps(
        callbacks.dropped if callbacks else 0, http.dropped + others.dropped + blocking_http.dropped, tasks.dropped
    )
    abandoned = sum(1 for record in tasks.records if record.future in ending.cancelled)
    if watch is not None:
        run.blocking = watch.blocking(_long_callbacks(run, watch.threshold), run)
    run.notes = notes.report_notes(run, http, bridged, old_style, sync_client, abandoned)
    run.notes += notes.cleanup_notes(run.tasks, _CANCEL_GRACE)
    pending = notes.leftovers_note(leftovers.pending)
    if pending:
        run.notes.append(pending)
    return run


class _Stopper(Swapping):
    """Turns ``--timeout`` and Ctrl-C into a cancellation of the cell, at its next wait.

    ``on_stop(reason)`` runs first: the fetches stop there and then. Then the
    cell's task is cancelled, which throws CancelledError into the cell where
    it waits: its ``finally`` blocks run, and the runner reports what happened.

    For the cell's duration, SIGINT (how Jupyter sends Ctrl-C) has a handler of
    its own: it schedules that cancellation with ``call_soon_threadsafe``,
    which also wakes the loop from its wait for I/O. The kernel's handling
    would raise KeyboardInterrupt at a random point (in a plain cell), or
    cancel only when the loop next wakes up (in an await cell). A second
    Ctrl-C before the loop acted on the first, as when the cell blocks in
    plain Python (``time.sleep``), raises KeyboardInterrupt there and then.
    """

    def __init__(self, cell_task: asyncio.Task, timeout: float | None, on_stop: Callable[[str], None]):
        self.cell_task = cell_task
        self.timeout = timeout
        self.on_stop = on_stop
        #: ``"timeout"`` or ``"interrupt"`` once the cell was cancelled for that reason.
        self.reason: str | None = None
        self._delivered = False
        self._armed = False
        self._interrupt_requested = False
        self._timer = None

    def swap_in(self, swaps: Swaps) -> None:
        loop = asyncio.get_running_loop()
        self._armed = True
        if self.cell_task.cancelling():
            # Ctrl-C came before this handler was in place: ipykernel's own handler
            # cancelled the cell's Task, which the cell will receive at its first wait.
            self.reason = "interrupt"
        if self.timeout:
            self._timer = loop.call_later(self.timeout, self._stop, "timeout", context=outside_the_cell())
        _handle_sigint(swaps, self._on_sigint)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._armed = False
        if self._timer is not None:
            self._timer.cancel()
        super().__exit__(exc_type, exc, tb)
        self._delivered = exc_type is asyncio.CancelledError

    def _on_sigint(self, signum, frame) -> None:
        if self._interrupt_requested and self.reason is None:
            # The loop never got to the first one: the cell holds it, in plain Python.
            raise KeyboardInterrupt
        self._interrupt_requested = True
        self.cell_task.get_loop().call_soon_threadsafe(self._stop, "interrupt", context=outside_the_cell())

    def _stop(self, reason: str) -> None:
        if self._armed and self.reason is None:
            self.reason = reason
            self.on_stop(reason)
            self.cell_task.cancel()

    async def absorb_late_cancel(self) -> None:
        """Take back a cancellation the cell finished before receiving."""
        if self.reason is None:
            return
        self.cell_task.uncancel()
        if not self._delivered:
            # The task still owes a CancelledError: receive it here, not in the cleanup.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0)


class _CleanupInterrupt(Swapping):
    """Ctrl-C while the cell's leftovers are cleaned up: ``pressed`` is done, and the cleanup hurries.

    The cleanup waits up to ``_CANCEL_GRACE`` + ``_SECOND_GRACE`` for
    cancelled tasks to unwind. A Ctrl-C meanwhile cuts that wait short; left
    to the kernel, it would cancel the runner inside its cleanup, losing the
    report and leaving the tasks to run on in a later cell.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.pressed = loop.create_future()

    def swap_in(self, swaps: Swaps) -> None:
        _handle_sigint(swaps, self._on_sigint)

    def _on_sigint(self, signum, frame) -> None:
        self.loop.call_soon_threadsafe(self._press, context=outside_the_cell())

    def _press(self) -> None:
        if not self.pressed.done():
            self.pressed.set_result(None)


def _handle_sigint(swaps: Swaps, handler) -> None:
    """``handler`` takes SIGINT until ``swaps`` closes; the kernel's handler changes from cell to cell."""
    if threading.current_thread() is threading.main_thread():  # the only thread signals reach
        swaps.swap_setting(
            "the SIGINT handler",
            lambda: signal.getsignal(signal.SIGINT),
            lambda handler: signal.signal(signal.SIGINT, handler),
            handler,
            lasting=False,
        )


def _user_error(exc: BaseException, stopper: _Stopper, cell: CompiledCell, timeout) -> BaseException:
    """The error to show: the cell's own exception, or what stopped it, with the cell's frames."""
    traceback = cell.user_traceback(exc.__traceback__) or exc.__traceback__
    if not isinstance(exc, asyncio.CancelledError) or stopper.reason is None:
        return exc.with_traceback(traceback)
    if stopper.reason == "timeout":
        stopped = CellTimeout(notes.timed_out(timeout))
    else:
        stopped = KeyboardInterrupt(notes.INTERRUPTED)
    # Where the cell stood when it was stopped, not how the cancellation reached it.
    return stopped.with_traceback(cell.user_traceback(exc.__traceback__, cell_frames_only=True))


@dataclass
class _Ending:
    """What ending the cell's leftover work came to."""

    #: The futures (tasks, gen.coroutine results) that were cancelled.
    cancelled: set
    #: Tasks whose cleanup outlasted the grace, cancelled again inside it, and done then.
    cut_short: set
    #: Tasks still not done after that: they ignore cancellation.
    unfinished: set


async def _cancel_leftovers(
    work: CellWork, http: TornadoHttpRecorder, pending: Leftovers, hurry: asyncio.Future
) -> _Ending:
    """Stop everything the cell left running, so nothing of it outlives the cell.

    The callbacks and timers the cell's code left queued go to ``pending``.
    Fetches go first, the way Tornado's timeouts end them, so that their
    connections close and their client's slots are free for the next cell.
    A cancelled task's cleanup (``finally``, ``except CancelledError``) gets
    ``_CANCEL_GRACE`` seconds; one still awaiting after that is cancelled
    again where it waits, and gets ``_SECOND_GRACE``. A task that outlives
    both ignores cancellation: its coroutine is closed, and its queued
    callbacks and timers are cancelled with the rest, so that it waits for
    good instead of running in a later cell.
    Once ``hurry`` is done (Ctrl-C), neither grace is waited for any longer.
    """
    # Before anything is cancelled: what cancelling schedules is not the cell's leftover.
    pending.record(work.scheduled(), work.loop.time())
    http.abort_pending(notes.CANCELLED_AT_THE_END)
    leftovers = work.cancel_leftovers()
    # Let cancelled tasks unwind (their finally blocks), and done callbacks run.
    await asyncio.sleep(0)
    tasks = [future for future in leftovers if isinstance(future, asyncio.Task)]
    slow = await _unwound_within(tasks, _CANCEL_GRACE, work.loop, hurry)
    for task in slow:
        task.cancel()
    # One step at least, for each to take the cancellation in, however hurried.
    await asyncio.sleep(0)
    unfinished = await _unwound_within(slow, _SECOND_GRACE, work.loop, hurry)
    for task in unfinished:
        # Its coroutine is closed where it waits (GeneratorExit, which `except CancelledError`
        # does not catch): should anything wake the task later, none of the cell's code runs.
        with contextlib.suppress(RuntimeError):  # it ignored GeneratorExit too: left as it is
            task.get_coro().close()
    work.cancel_scheduled()
    return _Ending(set(leftovers), set(slow) - set(unfinished), set(unfinished))


async def _unwound_within(tasks: list[asyncio.Task], grace: float, loop, hurry: asyncio.Future) -> list[asyncio.Task]:
    """Wait up to ``grace`` seconds, or until ``hurry`` is done, for ``tasks``; return those not done."""
    deadline = loop.time() + grace
    tasks = [task for task in tasks if not task.done()]
    while tasks and loop.time() < deadline and not hurry.done():
        await first_done([*tasks, hurry], deadline - loop.time())
        tasks = [task for task in tasks if not task.done()]
    return tasks


def _long_callbacks(run: Run, threshold: float) -> list[Stretch]:
    """The cell's callbacks that ran ``threshold`` seconds or more: the loop ran nothing else meanwhile."""
    return [
        Stretch(event.time, event.duration, event.source, event.line)
        for event in run.events
        if event.duration is not None and event.duration >= threshold
    ]


class _TaskLaneNames:
    """Names for lane keys: ``cell``, a task's label, a thread's name, or ``loop`` for the rest."""

    def __init__(self, cell_task: asyncio.Task, tasks: CellTasks):
        self._names = {id(cell_task): "cell"}
        self._names.update(numbered((record.key, record.name) for record in tasks.records))

    def name(self, key: int | str | None) -> str:
        if isinstance(key, str):
            return key  # a thread's name (see _requester)
        return self._names.get(key, "loop")


def _requester(tasks: CellTasks) -> Callable[[], int | str | None]:
    """Who makes a blocking request: on the loop's thread the task (or cell) running, elsewhere the thread."""
    loop_thread = threading.current_thread()

    def current():
        thread = threading.current_thread()
        return tasks.current_key() if thread is loop_thread else thread.name

    return current


def _tasks(tasks: CellTasks, callbacks: LoopCallbacks | None, lanes: _TaskLaneNames, ending: _Ending) -> list[Task]:
    first_step: dict[int, float] = {}
    if callbacks is not None:
        for event in callbacks.events:
            if event.kind == "step":
                first_step.setdefault(event.lane, event.time)
    result = []
    for record in tasks.records:
        value, error = record.outcome
        result.append(
            Task(
                name=lanes.name(record.key),
                key=record.key,
                state=_state(record, ending),
                spawned=record.spawned,
                start=first_step.get(record.key),
                end=record.end,
                result=value,
                error=error,
                spawned_by=lanes.name(record.spawned_by),
                parent="loop",
            )
        )
    return result


def _state(record, ending: _Ending) -> str:
    if record.future in ending.unfinished:
        return "unfinished"
    if record.future in ending.cut_short:
        return "cleanup cut short"
    return record.state
