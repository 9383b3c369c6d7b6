"""Record the requests a ``%%tornado`` cell makes with httpx or aiohttp.

Students bring the clients they know to the loop. Both run on asyncio, so
their requests are the cell's work like any fetch, and the report must count
them. Each is watched through the hook it documents, for the cell only, from
the moment it is imported (before the cell, or by the cell itself: an import
hook waits for it; neither is imported otherwise):

``httpx``
    every request of a ``Client`` or an ``AsyncClient`` goes through its
    public ``send(request, stream=...)`` (``get``, ``post``, ``stream``...
    all call it), which is wrapped on both classes. With ``stream=False``
    it returns once the body is in; a streamed response ends when it is
    closed (``aclose()``/``close()``, which ``client.stream()`` calls).
    The body size is ``response.num_bytes_downloaded``, the bytes on the
    wire.
``aiohttp``
    a ``TraceConfig`` (aiohttp's request tracing) is added to each
    ``ClientSession`` made while the cell runs: the request starts at
    ``on_request_start``, waits for a connection between
    ``on_connection_queued_start`` and ``_end`` (the connector's ``limit``),
    has its status at ``on_request_end`` and ends with the last body chunk
    received. A session made before the cell has no trace config, and its
    requests are not recorded: make the session in the cell (``async with
    aiohttp.ClientSession() as session:``).

The trace config is one object for the kernel's life, which a session keeps
after the cell; it records only for the cell running now, so a session
reused in a later cell is recorded there, and outside cells not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.abc
import sys
from typing import Callable

from ..recorders.http_client import Fetched
from ..render.units import error_text
from ..run import Request
from ..scope import Swapping, Swaps
from .work import TornadoScope

#: The recorder of the ``%%tornado`` cell running now, for aiohttp's trace callbacks.
_recording: OtherHttpClients | None = None


class OtherHttpClients(Swapping):
    """Context manager recording in ``fetched`` the cell's httpx and aiohttp requests.

    ``current_lane()`` gives the lane key of the code making the request.
    """

    def __init__(self, scope: TornadoScope, current_lane: Callable[[], object]):
        self.scope = scope
        self.work = scope.work
        self.current_lane = current_lane
        self.fetched: list[Fetched] = []
        self.dropped = 0
        self._outer: OtherHttpClients | None = None
        self._ended = False

    def swap_in(self, swaps: Swaps) -> None:
        global _recording
        for name in _CLIENTS:
            if name in sys.modules:
                self._watch(name)
        # A client first imported by the cell itself is watched from the end of its import:
        # importing the libraries up front would cost every kernel 0.3 s for what few cells use.
        finder = _WhenImported(self._watch)
        sys.meta_path.insert(0, finder)
        swaps.callback(sys.meta_path.remove, finder)
        self._outer, _recording = _recording, self

    def _watch(self, name: str) -> None:
        if self._ended:  # a thread of the cell finished importing after the cell: nothing to give back then
            return
        if name == "httpx":
            import httpx

            self._swaps.wrap(httpx.AsyncClient, "send", self._async_send)
            self._swaps.wrap(httpx.Client, "send", self._send)
        else:
            import aiohttp

            self._swaps.wrap(aiohttp.ClientSession, "__init__", self._session_init)

    def __exit__(self, *exc_info) -> None:
        global _recording
        _recording = self._outer
        self._ended = True
        super().__exit__(*exc_info)
        ended = self.scope.now()
        for fetched in self.fetched:
            if fetched.request.end is None:
                fetched.request.end, fetched.request.error = ended, "unfinished: still open when the cell ended"

    def start(self, url: str, method: str) -> Request | None:
        """A row for a request starting now, or None past the cap."""
        if len(self.fetched) >= self.scope.limits.requests:
            self.dropped += 1
            return None
        row = Request(url=url, method=method, start=self.scope.now())
        self.fetched.append(Fetched(row, self.current_lane()))
        return row

    def fail(self, row: Request | None, error: BaseException) -> None:
        if row is not None and row.end is None:
            row.end = self.scope.now()
            row.error = "cancelled" if isinstance(error, asyncio.CancelledError) else error_text(error)

    # -- httpx ----------------------------------------------------------------

    def _async_send(self, original):
        recorder = self

        async def send(client, request, *, stream=False, **kwargs):
            if not recorder.work.is_current():
                return await original(client, request, stream=stream, **kwargs)
            row = recorder.start(str(request.url), request.method)
            with recorder._failing(row):
                response = await original(client, request, stream=stream, **kwargs)
            recorder._answered(row, response, stream, "aclose")
            return response

        return send

    def _send(self, original):
        recorder = self

        def send(client, request, *, stream=False, **kwargs):
            if not recorder.work.is_current():
                return original(client, request, stream=stream, **kwargs)
            row = recorder.start(str(request.url), request.method)
            with recorder._failing(row):
                response = original(client, request, stream=stream, **kwargs)
            recorder._answered(row, response, stream, "close")
            return response

        return send

    @contextlib.contextmanager
    def _failing(self, row: Request | None):
        """Record the error a request ends with, and let it go on to the caller."""
        try:
            yield
        except BaseException as error:
            self.fail(row, error)
            raise

    def _answered(self, row: Request | None, response, stream: bool, closer: str) -> None:
        if row is None:
            return
        row.status = response.status_code
        if not stream:
            self._body_done(row, response)
            return
        close = getattr(response, closer)
        recorder = self

        # The caller reads a streamed body at its own pace: the request ends when it closes it.
        if closer == "aclose":

            async def aclose():
                try:
                    await close()
                finally:
                    recorder._body_done(row, response)

            response.aclose = aclose
        else:

            def close_response():
                try:
                    close()
                finally:
                    recorder._body_done(row, response)

            response.close = close_response

    def _body_done(self, row: Request, response) -> None:
        if row.end is None:
            row.end = self.scope.now()
            row.nbytes = response.num_bytes_downloaded

    # -- aiohttp --------------------------------------------------------------

    def _session_init(self, original):
        recorder = self

        def __init__(session, *args, trace_configs=None, **kwargs):
            if recorder.work.is_current():
                trace_configs = [*(trace_configs or ()), _trace_config()]
            return original(session, *args, trace_configs=trace_configs, **kwargs)

        return __init__


#: The clients watched, by top-level package.
_CLIENTS = ("httpx", "aiohttp")


class _WhenImported(importlib.abc.MetaPathFinder):
    """An import hook that finds nothing itself: it calls ``then(name)`` once a client's package is imported."""

    def __init__(self, then: Callable[[str], None]):
        self.then = then

    def find_spec(self, name, path, target=None):
        if name not in _CLIENTS:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if finder is self or find is None else find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_then_watch(module):
            exec_module(module)
            self.then(name)

        # The loader is this module's own (one per spec): the hook goes with this import only.
        spec.loader.exec_module = exec_then_watch
        return spec


_TRACE_CONFIG = None


def _trace_config():
    """aiohttp's TraceConfig that records into the running cell's recorder; made once, on first use."""
    global _TRACE_CONFIG
    if _TRACE_CONFIG is None:
        import aiohttp

        config = aiohttp.TraceConfig()
        config.on_request_start.append(_request_start)
        config.on_connection_queued_start.append(_queued_start)
        config.on_connection_queued_end.append(_queued_end)
        config.on_request_end.append(_request_end)
        config.on_response_chunk_received.append(_chunk_received)
        config.on_request_exception.append(_request_exception)
        config.freeze()
        _TRACE_CONFIG = config
    return _TRACE_CONFIG


def _recorder() -> OtherHttpClients | None:
    """The running cell's recorder, if this request is the cell's work."""
    recorder = _recording
    return recorder if recorder is not None and recorder.work.is_current() else None


async def _request_start(session, context, params) -> None:
    recorder = _recorder()
    context.gtm_row = recorder.start(str(params.url), params.method) if recorder is not None else None
    context.gtm_recorder = recorder


async def _queued_start(session, context, params) -> None:
    if getattr(context, "gtm_row", None) is not None:
        context.gtm_queued_since = context.gtm_recorder.scope.now()


async def _queued_end(session, context, params) -> None:
    row = getattr(context, "gtm_row", None)
    if row is not None and hasattr(context, "gtm_queued_since"):
        now = context.gtm_recorder.scope.now()
        row.queued += now - context.gtm_queued_since
        row.start = now


async def _request_end(session, context, params) -> None:
    row = getattr(context, "gtm_row", None)
    if row is not None:
        row.status = params.response.status
        row.end = context.gtm_recorder.scope.now()


async def _chunk_received(session, context, params) -> None:
    row = getattr(context, "gtm_row", None)
    if row is not None:
        row.nbytes += len(params.chunk)
        row.end = context.gtm_recorder.scope.now()


async def _request_exception(session, context, params) -> None:
    row = getattr(context, "gtm_row", None)
    if row is not None:
        row.end = None
        context.gtm_recorder.fail(row, params.exception)
