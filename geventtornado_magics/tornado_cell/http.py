"""Record the HTTP requests a ``%%tornado`` cell makes through ``AsyncHTTPClient``.

Every client implementation (``SimpleAsyncHTTPClient``, the default, and
``CurlAsyncHTTPClient``) is reached through ``AsyncHTTPClient.fetch``,
which is wrapped on the base class for the cell. A row starts when the cell
calls ``fetch`` and ends when the returned future is done; its status and
body size come from the response, which an ``HTTPError`` carries too.

Time spent queued is the lesson of ``max_clients``: a client runs at most
that many requests at once (10 by default) and queues the rest, so 100
fetches of 0.5 s take 5 s. A row's ``start`` is when its request left the
queue and ``queued`` how long it waited before:

* ``SimpleAsyncHTTPClient`` makes a connection object the moment a request
  leaves its queue, through ``_connection_class()``, the hook Tornado's own
  tests override. That hook is wrapped, which gives the exact moment, and the
  connection, so that the end of the cell can abort a request still in flight.
* Any other client is read from the response: ``HTTPResponse.start_time`` is
  documented as when the HTTP operation started, after the queue.

On a timeout, a Ctrl-C, or at the end of the cell, ``abort_pending`` stops
the fetches still open the way Tornado's own timeouts do: a queued request
leaves the queue (``_remove_timeout(key)`` drops it from ``client.waiting``),
a request in flight is failed through its connection's ``_on_timeout``, which
closes the socket and frees the slot for the next cell, with its answer
(``final_callback``) sent nowhere. These are private to
``tornado.simple_httpclient``; other clients' requests are only cancelled.

``AsyncHTTPClient(max_clients=50)`` is a trap: Tornado keeps one client per
loop (in ``AsyncHTTPClient._async_clients()``) and hands back the existing
one, ignoring the arguments. ``__new__`` is wrapped to catch the cell falling
into it (``ignored_arguments``).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from dataclasses import dataclass
from typing import Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.ioloop import IOLoop
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from .work import TornadoScope, outside_the_cell
from ..run import Request
from ..scope import Swapping, Swaps
from ..recorders.http_client import Fetched
from ..render.units import error_text


@dataclass
class _Fetch:
    """A request the cell made that is not finished yet."""

    row: Request
    #: The lane key of who fetched (see ``CellTasks.current_key``).
    lane: int | None
    client: AsyncHTTPClient
    request: HTTPRequest
    fetched: float
    fetched_wall: float
    #: Whether ``sent`` is observed (a SimpleAsyncHTTPClient with the hook in place).
    queue_observed: bool
    future: asyncio.Future | None = None
    sent: float | None = None
    #: When the connection gave back its slot: the response was complete, or failed.
    released: float | None = None
    connection: object = None


@dataclass
class IgnoredArguments:
    """``AsyncHTTPClient(**arguments)`` returned the loop's existing client."""

    arguments: dict
    max_clients: int | None
    line: int | None


class TornadoHttpRecorder(Swapping):
    """Context manager recording in ``fetched`` the cell's ``AsyncHTTPClient`` requests.

    ``current_lane()`` gives the lane key of the code calling ``fetch``.
    """

    def __init__(
        self,
        scope: TornadoScope,
        current_lane: Callable[[], int | None],
    ):
        self.scope = scope
        self.work = scope.work
        self.current_lane = current_lane
        self.fetched: list[Fetched] = []
        self.dropped = 0
        #: ``max_clients`` of each client the cell fetched with, by ``id()``.
        self.max_clients: dict[int, int] = {}
        self.ignored_arguments: list[IgnoredArguments] = []
        self._open: dict[int, _Fetch] = {}
        self._connection_hook = None

    def swap_in(self, swaps: Swaps) -> None:
        swaps.wrap(AsyncHTTPClient, "fetch", self._fetch)
        swaps.wrap(AsyncHTTPClient, "__new__", self._new)
        self._connection_hook = swaps.wrap(SimpleAsyncHTTPClient, "_connection_class", self._connection_class)

    # -- the request's life ---------------------------------------------------

    def _fetch(self, original):
        recorder = self

        def fetch(client, request, raise_error=True, **kwargs):
            if not recorder.work.is_current() or _is_redirect(request):
                return original(client, request, raise_error, **kwargs)
            if not isinstance(request, HTTPRequest):
                request = HTTPRequest(url=request, **kwargs)
                kwargs = {}
            if len(recorder.fetched) >= recorder.scope.limits.requests:
                recorder.dropped += 1
                future = original(client, request, raise_error, **kwargs)
                recorder.work.track(future)
                return future
            now = recorder.scope.now()
            pending = _Fetch(
                row=Request(url=request.url, method=request.method, start=now),
                lane=recorder.current_lane(),
                client=client,
                request=request,
                fetched=now,
                fetched_wall=time.time(),
                queue_observed=getattr(type(client), "_connection_class", None) is recorder._connection_hook,
            )
            # fetch_impl runs inside fetch and may start the request at once:
            # the connection hook must find it already.
            recorder._open[id(request)] = pending
            try:
                future = original(client, request, raise_error, **kwargs)
            except BaseException:
                del recorder._open[id(request)]
                raise
            if pending.sent is not None:
                pending.sent = pending.fetched  # a free slot: it never waited in the queue
            pending.future = future
            recorder.fetched.append(Fetched(pending.row, pending.lane))
            if hasattr(client, "max_clients"):
                recorder.max_clients[id(client)] = client.max_clients
            recorder.work.track(future)
            future.add_done_callback(lambda done: recorder._finished(pending), context=outside_the_cell())
            return future

        return fetch

    def _connection_class(self, original):
        recorder = self

        def _connection_class(client):
            connection_class = original(client)

            def connect(owner, request, release_callback, final_callback, *args, **kwargs):
                # A redirect's request carries the first one as original_request.
                first = getattr(request.request, "original_request", None)
                pending = recorder._open.get(id(first.request if first is not None else request.request))
                if pending is not None:
                    if pending.sent is None:
                        pending.sent = recorder.scope.now()
                    pending.released = None
                    release_callback = functools.partial(recorder._released, pending, release_callback)
                connection = connection_class(owner, request, release_callback, final_callback, *args, **kwargs)
                if pending is not None:
                    pending.connection = connection
                return connection

            return connect

        return _connection_class

    def _released(self, pending: _Fetch, release_callback) -> None:
        # The response is complete (or failed) and the slot is free again: the request's end.
        pending.released = self.scope.now()
        release_callback()

    def _finished(self, pending: _Fetch) -> None:
        future = pending.future
        if pending.row.end is None:
            self._complete(pending, future)
        # A cancelled fetch goes on in Tornado (cancelling a future stops no
        # request): keep it open, so that the end of the cell can stop it.
        if not future.cancelled():
            self._open.pop(id(pending.request), None)

    def _complete(self, pending: _Fetch, future, reason: str = "cancelled") -> None:
        """Fill the row from the fetch's outcome (``reason`` if it has none)."""
        row = pending.row
        row.end = pending.released if pending.released is not None else self.scope.now()
        response = None
        if not future.done() or future.cancelled():
            row.error = reason
        else:
            error = future.exception()
            response = future.result() if error is None else getattr(error, "response", None)
            if response is not None:
                row.status = response.code
                row.nbytes = len(response.body)
            if error is not None and not _is_status(error):
                row.error = error_text(error)
        sent = self._sent(pending, response)
        row.start = row.end if sent is None else min(sent, row.end)
        row.queued = row.start - pending.fetched

    def _sent(self, pending: _Fetch, response) -> float | None:
        """When the request left the queue, or None if it never did."""
        if pending.queue_observed:
            return pending.sent
        start_time = getattr(response, "start_time", None)
        if start_time is None:
            return pending.fetched
        return pending.fetched + max(start_time - pending.fetched_wall, 0.0)

    def abort_pending(self, reason: str) -> None:
        """Stop every fetch still open, freeing its place in the client; rows say ``reason``."""
        aborting = list(self._open.values())
        self._open.clear()
        for pending in aborting:
            if pending.row.end is None:
                self._complete(pending, pending.future, reason)
            pending.future.cancel()  # nobody gets a late answer
        # Dequeue first: failing a request in flight frees a slot, and the
        # client would start the next queued one straight away.
        for pending in aborting:
            if pending.connection is None and pending.queue_observed:
                _dequeue(pending.client, pending.request)
        for pending in aborting:
            connection = pending.connection
            if connection is not None and connection.final_callback is not None:
                # Tornado's own timeout path closes the socket and frees the slot; the
                # answer it sends goes nowhere, as the caller's future is cancelled.
                connection.final_callback = _no_answer
                connection._on_timeout(reason)

    # -- the max_clients trap -------------------------------------------------

    def _new(self, original):
        recorder = self

        def __new__(cls, force_instance=False, **kwargs):
            existing = None
            if kwargs and not force_instance and recorder.work.is_current():
                existing = cls._async_clients().get(IOLoop.current())
            client = original(cls, force_instance=force_instance, **kwargs)
            if existing is not None and client is existing:
                recorder.ignored_arguments.append(
                    IgnoredArguments(kwargs, getattr(client, "max_clients", None), recorder.scope.line_of(sys._getframe(1)))
                )
            return client

        return __new__


def _no_answer(response) -> None:
    """Where an aborted request's answer goes: setting it on a cancelled future would log an error."""


def _dequeue(client: SimpleAsyncHTTPClient, request: HTTPRequest) -> None:
    for key, (queued, _callback, _timeout) in list(client.waiting.items()):
        if queued.request is request:
            # Drops it from `waiting`; the queue skips requests no longer waiting.
            client._remove_timeout(key)


def _is_redirect(request) -> bool:
    """A request Tornado makes itself to follow a redirect: part of the cell's fetch, not a new one."""
    return isinstance(request, HTTPRequest) and hasattr(request, "original_request")


def _is_status(error: BaseException) -> bool:
    """True for the HTTPError of a response with an error status: a row's status, not an error."""
    return isinstance(error, HTTPClientError) and error.response is not None
