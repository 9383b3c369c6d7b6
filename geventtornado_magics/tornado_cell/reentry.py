"""Run a coroutine to completion from synchronous code, even on a loop that is already running.

``get_ipython().run_cell_magic('tornado', '', code)`` is a plain function
call. In ipykernel 7 a plain cell runs synchronously inside one step of the
kernel's own Task, on the kernel's running asyncio loop, and that loop has to
run for the ``%%tornado`` cell to make progress. asyncio refuses to run a
loop that is already running (``run_until_complete`` raises), and returning
to the loop is impossible without returning from the plain cell.

``run_until_complete(coro)`` re-enters the running loop instead, for the time
the coroutine takes, and leaves it exactly as it found it: nothing is patched,
before, during or after. It runs the loop's iterations itself, the way
``BaseEventLoop._run_once`` does (wait for I/O or the next timer, then run the
callbacks that are due), with three differences that make the nesting safe:

* the kernel's Task, whose step we are inside of, is set aside as the
  current task (``asyncio.tasks._leave_task``), so that other tasks may step,
  and restored after (``_enter_task``), through ``scope.Swaps``;
* a callback whose ``contextvars.Context`` is already entered, further up the
  stack, cannot run now (``Context.run`` would raise): it is kept aside and
  put back at the front of the queue, to run when the outer loop gets to it;
* the outer ``_run_once`` that is running the kernel's step counted the
  callbacks that were due when it started and will take that many more from
  the queue; if the nested loop ran some of them, the queue is topped up with
  no-op callbacks so the outer count still holds.

It relies on these private attributes of ``asyncio.BaseEventLoop``:
``_ready``, ``_scheduled``, ``_selector``, ``_process_events``,
``_clock_resolution``; and of ``asyncio.Handle``: ``_cancelled``, ``_when``,
``_context``, ``_run``. They are the same from Python 3.7 to 3.13.

With no loop running (terminal IPython between cells, plain Python), the
coroutine runs on a new loop, as ``asyncio.run`` would, which is closed after.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from asyncio import tasks as asyncio_tasks
from collections.abc import Coroutine
from typing import Any, TypeVar

from tornado.ioloop import IOLoop

from ..scope import Swaps

T = TypeVar("T")

#: Longest wait for I/O in one iteration, as asyncio's own MAXIMUM_SELECT_TIMEOUT.
_MAX_SELECT = 24 * 3600


def run_until_complete(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on this thread's loop, running or not; return its result."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _run_on_a_new_loop(coro)
    return _reenter(loop, coro)


def _reenter(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    task = loop.create_task(coro)
    due_for_outer = len(loop._ready)
    kept_aside: list[asyncio.Handle] = []
    with Swaps() as swaps:
        # The kernel's Task is current again after, whatever happens; it changes from cell to cell.
        swaps.swap_setting(
            f"the current task of the loop at {id(loop):#x}",
            lambda: asyncio.current_task(loop),
            functools.partial(_make_current, loop),
            None,
            lasting=False,
        )
        try:
            try:
                while not task.done():
                    _run_once(loop, kept_aside)
            except KeyboardInterrupt:
                # Ctrl-C outside the cell's own handling: stop the cell, let it clean up, then pass it on.
                task.cancel()
                while not task.done():
                    _run_once(loop, kept_aside)
                raise
        finally:
            loop._ready.extendleft(reversed(kept_aside))
            while len(loop._ready) < due_for_outer:
                loop._ready.append(asyncio.Handle(_nothing, (), loop))
    return task.result()


def _make_current(loop: asyncio.AbstractEventLoop, task: asyncio.Task | None) -> None:
    """Make ``task`` the loop's current task (None: no task), as asyncio's own steps do."""
    current = asyncio.current_task(loop)
    if current is not None:
        asyncio_tasks._leave_task(loop, current)
    if task is not None:
        asyncio_tasks._enter_task(loop, task)


def _run_once(loop, kept_aside: list[asyncio.Handle]) -> None:
    """One loop iteration: wait for I/O or the next timer, then run what is due."""
    ready, scheduled = loop._ready, loop._scheduled
    while scheduled and scheduled[0]._cancelled:
        heapq.heappop(scheduled)
    if ready:
        timeout = 0
    elif scheduled:
        timeout = min(max(scheduled[0]._when - loop.time(), 0), _MAX_SELECT)
    else:
        timeout = None
    loop._process_events(loop._selector.select(timeout))
    end = loop.time() + loop._clock_resolution
    while scheduled and scheduled[0]._when < end:
        ready.append(heapq.heappop(scheduled))
    for _ in range(len(ready)):
        if not ready:
            break
        handle = ready.popleft()
        if handle._cancelled:
            continue
        if _entered(handle._context):
            kept_aside.append(handle)
            continue
        handle._run()


def _entered(context) -> bool:
    """True when ``context`` is entered further up the stack, so it cannot be entered again."""
    try:
        context.run(int)
    except RuntimeError:
        return True
    return False


def _nothing() -> None:
    """Stands in for a callback the nested loop already ran."""


def _run_on_a_new_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, without touching the thread's current event loop."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_remaining_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            # Tornado keeps an IOLoop (and its HTTP client) per asyncio loop until
            # the IOLoop is closed; closing it closes the asyncio loop too.
            io_loop = loop.run_until_complete(_current_io_loop())
            if io_loop is not None:
                io_loop.close()
            loop.close()


async def _current_io_loop() -> IOLoop | None:
    return IOLoop.current(instance=False)


def _cancel_remaining_tasks(loop: asyncio.AbstractEventLoop) -> None:
    remaining = asyncio.all_tasks(loop)
    for task in remaining:
        task.cancel()
    if remaining:
        loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
