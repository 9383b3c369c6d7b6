"""Tell a ``%%tornado`` cell's work on the kernel's event loop from the kernel's own.

A ``%%tornado`` cell runs on the loop that also runs the kernel: its shell
channel, comms and timers share the loop with the cell's fetches, callbacks,
timers and tasks. To record the cell's callbacks, to let ``IOLoop.start()``
wait for the cell's work and nothing else, and to cancel what the cell left
behind, that work has to be told apart.

asyncio already carries who scheduled what. Every callback the loop runs
(``asyncio.Handle``) runs in a ``contextvars.Context`` copied when it was
scheduled, and every Task runs in a copy of the context it was created in;
I/O watchers, timers and future callbacks are all Handles. So the cell sets
one context variable, ``CELL``, for as long as it runs, and everything
scheduled from the cell's code, or from the tasks and callbacks that code
started, carries it::

    with CellWork(loop) as work:      # CELL is set: the cell's context
        ...                           # loop.call_later(1, f) -> a Handle whose context has CELL
    work.owns(handle._context)        # True: it was scheduled on the cell's behalf

The kernel's own callbacks were scheduled from the kernel's contexts, where
``CELL`` is not set, so they are left alone. Two helpers go with it:
``first_done`` waits on the cell's behalf without adding to its work, and
``function_of`` says what a queued callback really runs.

asyncio has no public way to list what is scheduled, so ``scheduled()``
reads the loop's queues: ``loop._ready`` (a deque of Handles due now) and
``loop._scheduled`` (a heap of TimerHandles), and each Handle's
``_context``, ``_callback`` and ``_cancelled``. These are the private
attributes of ``asyncio.BaseEventLoop`` and ``asyncio.Handle``; they have
not changed since Python 3.7.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from contextvars import ContextVar

from tornado.ioloop import IOLoop

from ..scope import CellScope

#: Set while a cell runs, to the cell's CellWork; inherited by everything it schedules.
CELL: ContextVar[CellWork | None] = ContextVar("geventtornado_magics.cell", default=None)


class TornadoScope(CellScope):
    """A ``%%tornado`` cell's scope: its work on the loop and the Task running it, besides its clock and lines.

    ``portal`` runs the cell's code; ``where_the_cell_stands()`` reads it.
    """

    __slots__ = ("work", "cell_task", "portal")

    def __init__(self, work: CellWork, cell_task: asyncio.Task | None, portal=None, **scope):
        super().__init__(**scope)
        self.work = work
        self.cell_task = cell_task
        self.portal = portal

    def where_the_cell_stands(self) -> int | None:
        """The cell line the cell's code waits on: in ``await_`` (synchronous code) or an ``await``."""
        if self.portal is None:
            return None
        frame = self.portal.blocked_frame()
        return self.line_of(frame if frame is not None else self.portal.coro)


def running_cell() -> CellWork | None:
    """The CellWork of the ``%%tornado`` cell this code runs on behalf of, if any."""
    return CELL.get()


def outside_the_cell() -> contextvars.Context:
    """A context for bookkeeping callbacks: they run on the loop, but are not the cell's work."""
    return contextvars.Context()


#: Futures ``track`` keeps before its first sweep of the done ones.
_FIRST_SWEEP = 64


class CellWork:
    """Context manager: marks the cell's context; finds and cancels the cell's work on ``loop``.

    ``track(future)`` adds a future the cell is waiting for (its tasks, its
    fetches); ``unfinished()`` lists those not done, and ``scheduled()`` the
    callbacks and timers the cell has queued on the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._futures: set[asyncio.Future] = set()
        #: ``track`` sweeps the done futures out when the set grows past this.
        self._sweep_at = _FIRST_SWEEP
        self._token = None

    def __enter__(self) -> CellWork:
        self._token = CELL.set(self)
        return self

    def __exit__(self, *exc_info) -> None:
        CELL.reset(self._token)

    def is_current(self) -> bool:
        """True when the code calling this runs on the cell's behalf."""
        return CELL.get() is self

    def owns(self, context: contextvars.Context | None) -> bool:
        """True for a context copied from the cell's: a Handle's or a Task's."""
        return context is not None and context.get(CELL) is self

    def track(self, future: asyncio.Future) -> None:
        """Count ``future`` as work the cell started, until it is done.

        Done futures leave the set in sweeps, when it has doubled since the
        last one, so it holds at most about twice the work still running. A
        done callback per future would cost a loop callback for every task
        and fetch of the cell (two to three a request).
        """
        futures = self._futures
        futures.add(future)
        if len(futures) > self._sweep_at:
            self._futures = futures = {future for future in futures if not future.done()}
            self._sweep_at = 2 * len(futures) + _FIRST_SWEEP

    def unfinished(self) -> list[asyncio.Future]:
        """The tracked futures and tasks that are not done yet."""
        return [future for future in self._futures if not future.done()]

    def scheduled(self) -> list[asyncio.Handle]:
        """The cell's callbacks and timers waiting in the loop's queues.

        Task steps are left out: a task is work of its own (``unfinished``),
        and its steps must run for it to finish, even to finish cancelling.
        """
        loop = self.loop
        queued = [*loop._ready, *loop._scheduled]
        return [
            handle
            for handle in queued
            if not handle._cancelled and self.owns(handle._context) and not is_task_step(handle)
        ]

    def cancel_leftovers(self) -> list[asyncio.Future]:
        """Cancel the cell's unfinished futures and queued callbacks; return the futures."""
        leftovers = self.unfinished()
        for future in leftovers:
            future.cancel()
        self.cancel_scheduled()
        return leftovers

    def cancel_scheduled(self) -> None:
        """Cancel the callbacks and timers the cell still has queued."""
        for handle in self.scheduled():
            handle.cancel()


async def first_done(futures, timeout: float | None = None) -> None:
    """Wait until one of ``futures`` is done, or ``timeout`` seconds have passed.

    ``asyncio.wait(futures, timeout, return_when=FIRST_COMPLETED)``, except
    that its own callbacks run outside the cell's context: the waiting the
    runner does on the cell's behalf is not recorded as the cell's work.
    """
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake(_=None) -> None:
        if not woken.done():
            woken.set_result(None)

    for future in futures:
        future.add_done_callback(wake, context=outside_the_cell())
    timer = None if timeout is None else loop.call_later(timeout, wake, context=outside_the_cell())
    try:
        await woken
    finally:
        if timer is not None:
            timer.cancel()
        for future in futures:
            future.remove_done_callback(wake)


def is_task_step(handle: asyncio.Handle) -> bool:
    """True for a Handle that steps or wakes up an asyncio Task."""
    return isinstance(getattr(handle._callback, "__self__", None), asyncio.Task)


def function_of(handle: asyncio.Handle):
    """The function a queued callback really runs.

    Tornado schedules ``IOLoop._run_callback(partial(f, *args))``,
    ``gen.Runner`` schedules ``ctx_run(runner.run)`` (a ``Context.run``), and
    decorators leave ``__wrapped__``: look through them to ``f``.
    """
    function, args = handle._callback, handle._args
    while True:
        owner = getattr(function, "__self__", None)
        if isinstance(function, functools.partial):
            function, args = function.func, function.args
        elif args and isinstance(owner, (contextvars.Context, IOLoop)) and function.__name__ in ("run", "_run_callback"):
            function, args = args[0], args[1:]
        elif hasattr(function, "__wrapped__"):
            function = function.__wrapped__
        else:
            return function
