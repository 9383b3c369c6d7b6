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

Events are ``(time, duration, kind, lane_key, label, line)``: ``lane_key`` is
the ``id()`` of the Task or gen.coroutine that stepped (None for the loop's
own work), named by the runner at the end.
"""

from __future__ import annotations

import asyncio
import inspect
from asyncio import events
from time import perf_counter
from types import CodeType, FrameType
from typing import Callable

from tornado.ioloop import IOLoop
from tornado.platform.asyncio import BaseAsyncIOLoop

from ..scope import Swaps
from .work import CellWork, function_of

_Handle = events.Handle

#: Well-known library callbacks, in words.
_KNOWN = {
    "_set_result_unless_cancelled": "asyncio.sleep ends",
    "sleep.<locals>.<lambda>": "gen.sleep ends",
    "IOLoop.add_future.<locals>.<lambda>": "future done: run its callback",
    "_HTTPConnection._on_timeout": "HTTP request timeout",
}

_IO_EVENTS = ((IOLoop.READ, "readable"), (IOLoop.WRITE, "writable"), (IOLoop.ERROR, "error"))


class LoopCallbacks:
    """Context manager recording the cell's callbacks in ``events``; past ``cap`` they are counted.

    ``cell_task`` is the Task running the cell itself, whose steps are the
    cell's lane; ``cell_line()`` says where the cell stands now;
    ``frame_line(frame)`` and ``code_line(code)`` map a suspended frame or a
    function's code to a cell line (or None).
    """

    def __init__(
        self,
        t0: float,
        work: CellWork,
        cell_task: asyncio.Task,
        cell_line: Callable[[], int | None],
        frame_line: Callable[[FrameType], int | None],
        code_line: Callable[[CodeType], int | None],
        cap: int,
    ):
        self.t0 = t0
        self.work = work
        self.cell_task = cell_task
        self.cell_line = cell_line
        self.frame_line = frame_line
        self.code_line = code_line
        self.cap = cap
        self.events: list[list] = []
        self.dropped = 0
        #: The event of the callback running now (a gen.coroutine step may claim it).
        self._current: list | None = None
        self._swaps = Swaps()

    def __enter__(self) -> LoopCallbacks:
        self._swaps.wrap(_Handle, "_run", self._wrap)
        return self

    def __exit__(self, *exc_info) -> None:
        self._swaps.close()
        # The callback running now (the cell's own last step) ends after the
        # recording does: it is timed up to here.
        if self._current is not None:
            self._current[1] = perf_counter() - self.t0 - self._current[0]

    def _wrap(self, original):
        recorder = self
        owns = self.work.owns
        recorded = self.events

        def _run(handle):
            if not owns(handle._context):
                return original(handle)  # the kernel's own callback
            if len(recorded) >= recorder.cap:
                recorder.dropped += 1
                return original(handle)
            # Described before it runs: a step's line is where the coroutine stands now.
            kind, key, label, line = recorder._describe(handle)
            start = perf_counter()
            event = [start - recorder.t0, None, kind, key, label, line]
            recorded.append(event)
            outer, recorder._current = recorder._current, event
            try:
                return original(handle)
            finally:
                event[1] = perf_counter() - start
                recorder._current = outer

        return _run

    def busy_since(self) -> float | None:
        """When the cell's callback running now started (seconds from ``t0``), or None."""
        event = self._current
        return None if event is None else event[0]

    def runner_step(self, key: int, generator) -> None:
        """The callback running now resumes the gen.coroutine ``key``: record it as its step."""
        event = self._current
        if event is not None and event[2] != "step":
            event[2:] = ["step", key, _step_label(generator), self._line_where(generator)]

    def _describe(self, handle) -> tuple[str, int | None, str, int | None]:
        callback = handle._callback
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            if owner is self.cell_task:
                return "step", id(owner), "cell resumes", self.cell_line()
            coro = owner.get_coro()
            return "step", id(owner), _step_label(coro), self._line_where(coro)
        if isinstance(owner, BaseAsyncIOLoop) and callback.__name__ == "_handle_events":
            return "io", None, _io_label(owner, *handle._args), None
        if isinstance(owner, asyncio.BaseTransport):
            return "io", None, f"{type(owner).__name__}.{callback.__name__}", None
        function = function_of(handle)
        name = getattr(function, "__qualname__", None) or type(function).__name__
        label = _KNOWN.get(name, name)
        code = getattr(function, "__code__", None)
        line = self.code_line(code) if code is not None else None
        return ("timer" if isinstance(handle, asyncio.TimerHandle) else "callback"), None, label, line

    def _line_where(self, coro) -> int | None:
        """The cell line where a suspended coroutine (or what it awaits, innermost) stands."""
        line = None
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is None:
                break
            here = self.frame_line(frame)
            if here is not None:
                line = here
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        return line


def _step_label(coro) -> str:
    name = getattr(coro, "__qualname__", type(coro).__name__)
    if inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        return f"{name} starts"
    return f"{name} resumes"


def _io_label(io_loop: BaseAsyncIOLoop, fd: int, io_events: int) -> str:
    ready = "/".join(word for flag, word in _IO_EVENTS if io_events & flag) or "ready"
    _, handler = io_loop.handlers.get(fd, (None, None))
    owner = getattr(handler, "__self__", handler)
    what = type(owner).__name__ if owner is not None else "closed"
    return f"fd {fd} {ready}: {what}"
