"""Let synchronous code inside a coroutine wait for an awaitable, with greenlets.

A ``%%tornado`` cell is awaited on the kernel's running event loop, yet old
Tornado code blocks: ``IOLoop.current().start()`` runs the loop until
``stop()``, ``run_sync(main)`` runs it until ``main()`` is done. In a script
those calls own the loop. In a kernel the loop is already running (it runs
the kernel), so blocking on it is impossible from plain Python: the calls are
several frames deep in ordinary functions, with no ``await`` in sight.

A greenlet gives those frames a way out. ``Portal(coro)`` is awaitable and
drives ``coro`` the way an asyncio Task does, one step at a time, except that
each step runs in a child greenlet. Synchronous code in that step may call
``await_(awaitable)``: the child greenlet, with all its frames, is switched
out to the portal, which awaits the awaitable on the loop like any coroutine
would (the loop keeps running everything else meanwhile) and switches back
in with the result, or throws the exception in::

    async def cell():
        response = await_(client.fetch(url))   # a plain call, yet it waited on the loop

    await Portal(cell())

Nothing of asyncio or of the loop is patched: the Task that awaits the portal
sees an ordinary coroutine that yields futures. The child greenlet runs in the
Task's own ``contextvars.Context``, so context variables behave as if there
were no greenlet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from types import FrameType
from typing import Any

import greenlet


class _Step(greenlet.greenlet):
    """A greenlet running one step of a portal's coroutine; ``await_`` works inside it."""


class _Await:
    """What a step switches out with: please await this, then switch back in."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable):
        self.awaitable = awaitable


def in_portal() -> bool:
    """True when ``await_`` can be called here."""
    return isinstance(greenlet.getcurrent(), _Step)


def await_(awaitable: Awaitable) -> Any:
    """Wait for ``awaitable`` on the running loop from synchronous code; return its result.

    Only inside a Portal's coroutine (``in_portal()``); elsewhere a
    RuntimeError, because there is no one to do the awaiting.
    """
    step = greenlet.getcurrent()
    if not isinstance(step, _Step):
        raise RuntimeError("await_() needs a Portal: only the code a Portal runs can block")
    return step.parent.switch(_Await(awaitable))


class Portal:
    """Await ``Portal(coro)`` to run ``coro`` with ``await_`` available to its synchronous code."""

    def __init__(self, coro: Coroutine):
        self.coro = coro
        self._step: _Step | None = None

    def blocked_frame(self) -> FrameType | None:
        """The innermost frame of synchronous code waiting in ``await_``, if any is."""
        step = self._step
        return step.gr_frame if step is not None and not step.dead else None

    def __await__(self):
        advance, value = self.coro.send, None
        while True:
            step = self._step = _Step(_advance)
            # Run the step in the awaiting Task's context, as a Task step would.
            step.gr_context = greenlet.getcurrent().gr_context
            try:
                outcome = step.switch(advance, value)
                while isinstance(outcome, _Await):
                    try:
                        result = yield from outcome.awaitable.__await__()
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiting code, cancellation too
                        outcome = step.throw(_without_this_frame(exc))
                    else:
                        outcome = step.switch(result)
            finally:
                self._step = None
            finished, value = outcome
            if finished:
                return value
            # The coroutine awaits a future: hand it to the Task, as a coroutine's step would.
            try:
                value = yield value
            except BaseException as exc:  # noqa: BLE001 - thrown into the coroutine, as a Task would
                advance, value = self.coro.throw, _without_this_frame(exc)
            else:
                advance = self.coro.send


def _without_this_frame(exc: BaseException) -> BaseException:
    """``exc`` without the portal's own frame, so a traceback shows only the code involved."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is Portal.__await__.__code__:
        exc.__traceback__ = tb.tb_next
    return exc


def _advance(advance, value) -> tuple[bool, Any]:
    """One step of a coroutine: ``(False, what it yielded)`` or ``(True, what it returned)``."""
    try:
        return False, advance(value)
    except StopIteration as stop:
        return True, stop.value
