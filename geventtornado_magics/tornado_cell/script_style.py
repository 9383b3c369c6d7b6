"""Script-style Tornado inside a cell: blocking loop calls, and ``fetch(url, callback)``.

The essay's Tornado example ends with ``IOLoop.instance().start()`` and
passes a callback to ``fetch``. In a kernel both fail today: the kernel's loop
is already running, so ``start()`` raises ``RuntimeError: This event loop is
already running``, and Tornado 6 removed ``fetch``'s callback argument, so
``fetch(url, print_head)`` takes ``print_head`` for ``raise_error`` and never
calls it. For one cell, this module makes them do what they did in a script:

``IOLoop.start()``
    waits, on the running loop, until the work the cell started is done (its
    tasks, fetches, callbacks and timers, see ``work``) or until
    ``stop()`` is called, then returns. In a script it would run until
    ``stop()``; here the loop belongs to the kernel, which needs it back.
``IOLoop.stop()``
    ends that wait. It never stops the kernel's loop: a stopped loop is a
    kernel that no longer answers.
``IOLoop.close()``, and ``stop()`` of the asyncio loop itself
    end that wait too, as ``IOLoop.stop()`` does. Tornado's ``close()``
    would remove the kernel's own handlers from the loop (every later cell
    hangs), asyncio's ``stop()`` would end the loop and the kernel with it.
``IOLoop.run_sync(func, timeout=None)``
    calls ``func`` and waits for its result (a coroutine, a ``@gen.coroutine``
    future, any awaitable) on the running loop, with Tornado's own errors.
    Tornado's real ``run_sync`` must never run here: it schedules a
    ``stop()`` of the loop it runs on, which is the kernel's.
``AsyncHTTPClient.fetch(url, callback)``
    calls ``callback(response)`` when the response arrives, with an error
    response (code 599) when there is no HTTP answer, as Tornado 5 did.

The loop methods are set as attributes of the kernel's ``IOLoop`` object
(and ``stop`` of its asyncio loop) only, for the cell; other loops, and calls
made outside the cell's work (by the kernel), get the loop's own methods. The waiting is done with
``portal.await_``, so it works where the cell's own synchronous code
runs, which is where a script would call them. Elsewhere, in a callback or a
task, blocking is impossible and they raise, as Tornado would.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import traceback
from typing import Callable

from tornado import gen
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.ioloop import IOLoop

from ..scope import Swapping, Swaps
from .notes import BLOCKING_ELSEWHERE
from .work import TornadoScope, first_done, function_of
from .portal import await_, in_portal



class BlockingLoop(Swapping):
    """Context manager: ``start``, ``stop``, ``run_sync`` and ``close`` of ``io_loop`` bridged for the cell.

    ``used`` records ``(method, cell line)`` for each blocking call, and for
    each call that would have stopped or closed the kernel's loop, for the report.
    """

    _METHODS = ("start", "stop", "run_sync", "close")

    def __init__(self, io_loop: IOLoop, scope: TornadoScope):
        self.io_loop = io_loop
        self.scope = scope
        self.work = scope.work
        self.used: list[tuple[str, int | None]] = []
        self._real = {}
        self._stopped: asyncio.Future | None = None
        self._stop_requested = False
        self._running = False

    def swap_in(self, swaps: Swaps) -> None:
        for name in self._METHODS:
            self._real[name] = getattr(self.io_loop, name)
            swaps.swap(self.io_loop, name, getattr(self, name))
        self._real["asyncio stop"] = self.work.loop.stop
        swaps.swap(self.work.loop, "stop", self._stop_asyncio_loop)

    def start(self) -> None:
        """Run the loop until the cell's work is done or ``stop()`` is called."""
        if not self.work.is_current():
            return self._real["start"]()
        if self._running or not in_portal():
            raise RuntimeError(BLOCKING_ELSEWHERE.format(method="start"))
        self.used.append(("start", self.scope.line_of(sys._getframe(1))))
        self._running = True
        try:
            if self._stop_requested:
                # stop() before start(): run what is due now, once, as asyncio does.
                await_(asyncio.sleep(0))
            else:
                await_(self._until_done_or_stopped())
        finally:
            self._running = False
            self._stop_requested = False

    def stop(self) -> None:
        """End the current ``start()`` (or the next one); the kernel's loop keeps running."""
        if not self.work.is_current():
            return self._real["stop"]()
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)
        else:
            self._stop_requested = True

    def close(self, all_fds: bool = False) -> None:
        """End the current ``start()`` like ``stop()``; the kernel's loop stays open."""
        if not self.work.is_current():
            return self._real["close"](all_fds)
        self.used.append(("close", self.scope.line_of(sys._getframe(1))))
        self.stop()

    def _stop_asyncio_loop(self) -> None:
        """``stop()`` of the asyncio loop under the IOLoop: in the cell, the same as ``IOLoop.stop()``."""
        if not self.work.is_current():
            return self._real["asyncio stop"]()
        self.used.append(("asyncio stop", self.scope.line_of(sys._getframe(1))))
        self.stop()

    def run_sync(self, func: Callable, timeout: float | None = None):
        """Call ``func()`` and wait for the awaitable it returns; return its result."""
        if not self.work.is_current():
            return self._real["run_sync"](func, timeout=timeout)
        if not in_portal():
            raise RuntimeError(BLOCKING_ELSEWHERE.format(method="run_sync"))
        self.used.append(("run_sync", self.scope.line_of(sys._getframe(1))))
        result = func()
        if result is None:
            return None
        return await_(self._resolve(gen.convert_yielded(result), timeout))

    async def _until_done_or_stopped(self) -> None:
        loop = self.work.loop
        self._stopped = stopped = loop.create_future()
        try:
            while not stopped.done():
                waiting = self.work.unfinished()
                queued = [handle for handle in self.work.scheduled() if not _stale_deadline(handle)]
                if not waiting and not queued:
                    return
                wake = min((_due(handle) for handle in queued), default=None)
                timeout = None if wake is None else max(wake - loop.time(), 0.0)
                await first_done([*waiting, stopped], timeout)
        finally:
            self._stopped = None

    async def _resolve(self, future: asyncio.Future, timeout: float | None):
        loop = self.work.loop
        self._stopped = stopped = loop.create_future()
        try:
            await first_done([future, stopped], timeout)
        finally:
            self._stopped = None
        if future.done():
            return future.result()
        if stopped.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        # Tornado's run_sync cancels on timeout and waits for the cancellation to finish.
        future.cancel()
        await first_done([future])
        raise TimeoutError(f"Operation timed out after {timeout} seconds")


def _stale_deadline(handle: asyncio.Handle) -> bool:
    """A timeout timer left armed for an operation that is over: it is no work to wait for.

    Tornado's TCP connector, after a refused connection, leaves its
    connect timeout (20 s) armed; when it fires it finds its future done
    and does nothing. Such a timer belongs to an object whose ``future``
    is done.
    """
    if not isinstance(handle, asyncio.TimerHandle):
        return False
    future = getattr(getattr(function_of(handle), "__self__", None), "future", None)
    return isinstance(future, asyncio.Future) and future.done()


def _due(handle: asyncio.Handle) -> float:
    """When a queued callback runs: a timer when it is due, anything else now."""
    return handle.when() if isinstance(handle, asyncio.TimerHandle) else float("-inf")


class CallbackFetch(Swapping):
    """Context manager: ``AsyncHTTPClient.fetch(url, callback)`` calls ``callback(response)``.

    ``uses`` records ``(callback name, cell line)`` for each such call, for the report.
    """

    def __init__(self, scope: TornadoScope):
        self.scope = scope
        self.work = scope.work
        self.uses: list[tuple[str, int | None]] = []

    def swap_in(self, swaps: Swaps) -> None:
        swaps.wrap(AsyncHTTPClient, "fetch", self._fetch)

    def _fetch(self, original):
        patch = self

        def fetch(client, request, raise_error=True, callback=None, **kwargs):
            # Tornado 5's signature was fetch(request, callback=None, raise_error=True):
            # a callback passed by position lands in raise_error under Tornado 6.
            if callable(raise_error) and callback is None:
                callback, raise_error = raise_error, True
            if callback is None or not patch.work.is_current():
                if callback is not None:
                    kwargs["callback"] = callback  # Tornado 6 rejects it, as it should outside a cell
                return original(client, request, raise_error, **kwargs)
            patch.uses.append((_name(callback), patch.scope.line_of(sys._getframe(1))))
            if not isinstance(request, HTTPRequest):
                request = HTTPRequest(url=request, **kwargs)
                kwargs = {}
            future = original(client, request, False, **kwargs)
            future.add_done_callback(_deliver_to(callback, request))
            return future

        return fetch


def _deliver_to(callback: Callable[[HTTPResponse], object], request: HTTPRequest):
    """A done callback that hands the response to ``callback``, as Tornado 5 did."""

    @functools.wraps(callback)
    def deliver(future):
        if future.cancelled():
            return
        error = future.exception()
        # With a callback, Tornado 5 turned every failure into a response with code 599.
        response = future.result() if error is None else HTTPResponse(request, 599, error=error)
        try:
            callback(response)
        except Exception as error:
            # Tornado 5 logged it and went on; here it goes where the cell's errors are seen.
            print(f"Exception in callback {_name(callback)}(response):", file=sys.stderr)
            traceback.print_exception(type(error), error, error.__traceback__.tb_next, file=sys.stderr)

    return deliver


def _name(function) -> str:
    return getattr(function, "__qualname__", None) or repr(function)
