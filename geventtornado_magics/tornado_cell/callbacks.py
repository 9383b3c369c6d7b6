"""Record the callbacks the event loop runs on behalf of a ``%%tornado`` cell.

This is the essay's picture of Tornado: an event loop that waits for I/O and
timers, then runs the callbacks bound to them. On asyncio (which Tornado 6
runs on) every such callback is an ``asyncio.Handle`` and the loop runs it
with ``Handle._run()``: a coroutine's step, a socket that became readable, a
timer that fired, a future's done callback. ``Handle._run`` is wrapped on the
class for the cell, and a callback is recorded when its context is the
cell's (see ``work``); the kernel's own callbacks pass straight through.

Each callback is recorded with its kind:

``step``
    an asyncio Task resumed (or started), or a ``@gen.coroutine`` resumed
    (the tasks recorder reports those through ``runner_step``); its lane is
    the task, and its line is the cell line where the coroutine stood.
``io``
    a file descriptor became ready: Tornado's ``_handle_events`` for an
    IOStream, or an asyncio transport.
``timer``
    a ``call_later``/``call_at`` timer fired (``asyncio.sleep``, ``gen.sleep``,
    a request timeout, ``IOLoop.call_later``).
``callback``
    anything else run soon: a future's done callback, ``IOLoop.add_callback``.

Each is a ``Callback``; its ``lane`` is the ``id()`` of the Task or
gen.coroutine that stepped (None for the loop's own work), named by the
runner at the end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from asyncio import events
from time import perf_counter
from types import CodeType, CoroutineType

from tornado.ioloop import IOLoop
from tornado.platform.asyncio import BaseAsyncIOLoop

from ..scope import Swapping, Swaps
from .work import TornadoScope, function_of

_Handle = events.Handle
# asyncio.Handle's private ``_run`` (wrapped), ``_context``, ``_callback`` and ``_args`` are read
# here and in ``work``, the same from Python 3.7 to 3.13. Renamed: a missing ``_run`` is a KeyError
# as the first %%tornado cell starts; a missing ``_context`` an AttributeError in every callback
# the loop runs during a traced cell.

#: Well-known library callbacks, in words.
_KNOWN = {
    "_set_result_unless_cancelled": "asyncio.sleep ends",
    "sleep.<locals>.<lambda>": "gen.sleep ends",
    "IOLoop.add_future.<locals>.<lambda>": "future done: run its callback",
    "_HTTPConnection._on_timeout": "HTTP request timeout",
}

_IO_EVENTS = ((IOLoop.READ, "readable"), (IOLoop.WRITE, "writable"), (IOLoop.ERROR, "error"))


@dataclass(slots=True)
class Callback:
    """One callback the loop ran for the cell."""

    #: When it started, seconds from the cell's start.
    time: float
    #: ``step``, ``io``, ``timer`` or ``callback`` (see the module's docstring).
    kind: str
    #: ``id()`` of the Task or gen.coroutine that stepped, None for the loop's own work.
    lane: int | None
    label: str
    line: int | None
    #: How long it ran (None while it runs).
    duration: float | None = None


class LoopCallbacks(Swapping):
    """Context manager recording the cell's callbacks in ``events``; past the cap they are counted.

    The steps of the scope's ``cell_task`` are the cell's own lane.
    """

    def __init__(self, scope: TornadoScope):
        self.scope = scope
        self.events: list[Callback] = []
        self.dropped = 0
        #: The callback running now (a gen.coroutine step may claim it).
        self._current: Callback | None = None
        #: ``(label, line)`` of each function run as a plain callback, by its code: described once.
        self._described: dict[CodeType, tuple[str, int | None]] = {}

    def swap_in(self, swaps: Swaps) -> None:
        swaps.wrap(_Handle, "_run", self._wrap)

    def __exit__(self, *exc_info) -> None:
        super().__exit__(*exc_info)
        # The callback running now (the cell's own last step) ends after the
        # recording does: it is timed up to here.
        if self._current is not None:
            self._current.duration = self.scope.now() - self._current.time

    def _wrap(self, original):
        recorder = self
        owns = self.scope.work.owns
        recorded = self.events
        cap, t0 = self.scope.limits.events, self.scope.t0

        def _run(handle):
            if not owns(handle._context):
                return original(handle)  # the kernel's own callback
            if len(recorded) >= cap:
                recorder.dropped += 1
                return original(handle)
            # Described before it runs: a step's line is where the coroutine stands now.
            start = perf_counter()
            event = Callback(start - t0, *recorder._describe(handle))
            recorded.append(event)
            outer, recorder._current = recorder._current, event
            try:
                return original(handle)
            finally:
                event.duration = perf_counter() - start
                recorder._current = outer

        return _run

    def busy_since(self) -> float | None:
        """When the cell's callback running now started (seconds from the cell's start), or None."""
        event = self._current
        return None if event is None else event.time

    def runner_step(self, key: int, generator) -> None:
        """The callback running now resumes the gen.coroutine ``key``: record it as its step."""
        event = self._current
        if event is not None and event.kind != "step":
            event.kind, event.lane = "step", key
            event.label, event.line = _step_label(generator), self.scope.line_of(generator)

    def _describe(self, handle) -> tuple[str, int | None, str, int | None]:
        callback = handle._callback
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            if owner is self.scope.cell_task:
                return "step", id(owner), "cell resumes", self.scope.where_the_cell_stands()
            coro = owner.get_coro()
            return "step", id(owner), _step_label(coro), self.scope.line_of(coro)
        if isinstance(owner, BaseAsyncIOLoop) and callback.__name__ == "_handle_events":
            return "io", None, _io_label(owner, *handle._args), None
        if isinstance(owner, asyncio.BaseTransport):
            return "io", None, f"{type(owner).__name__}.{callback.__name__}", None
        kind = "timer" if isinstance(handle, asyncio.TimerHandle) else "callback"
        function = function_of(handle)
        code = getattr(function, "__code__", None)
        described = self._described.get(code) if code is not None else None
        if described is None:
            name = getattr(function, "__qualname__", None) or type(function).__name__
            described = (_KNOWN.get(name, name), self.scope.line_of(code))
            if code is not None:
                self._described[code] = described
        return kind, None, *described


def _step_label(coro) -> str:
    name = getattr(coro, "__qualname__", type(coro).__name__)
    # inspect.getcoroutinestate(coro) == CORO_CREATED, read directly: this runs on every step.
    if type(coro) is CoroutineType and not (coro.cr_running or coro.cr_suspended) and coro.cr_frame is not None:
        return f"{name} starts"
    return f"{name} resumes"


def _io_label(io_loop: BaseAsyncIOLoop, fd: int, io_events: int) -> str:
    ready = "/".join(word for flag, word in _IO_EVENTS if io_events & flag) or "ready"
    _, handler = io_loop.handlers.get(fd, (None, None))
    owner = getattr(handler, "__self__", handler)
    what = type(owner).__name__ if owner is not None else "closed"
    return f"fd {fd} {ready}: {what}"
