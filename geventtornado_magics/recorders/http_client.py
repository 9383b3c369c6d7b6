"""Record the HTTP requests a cell makes through ``http.client``.

``urllib.request`` uses ``http.client`` directly, and ``requests`` goes
through ``urllib3``, whose connection and response classes subclass
``http.client``'s. So a request is seen at the same few methods whichever
library made it:

* ``HTTPConnection.putrequest``: the request starts (method and URL);
* ``HTTPConnection.endheaders``: the connection is opened and headers sent,
  where a refused connection shows up;
* ``HTTPConnection.getresponse``: the status line arrives;
* ``HTTPResponse`` reads count body bytes, and ``_close_conn``/``close``
  end the request (the body was read to the end, or the caller closed it).

A request is a failed one when any of these raises (``InvalidURL`` in
``putrequest``, a refused connection in ``endheaders``...), and when the
connection closes in the middle of a read with part of the body, by its
``Content-Length``, still to come: ``http.client`` raises ``IncompleteRead``
for ``urllib``, while for ``requests`` it is urllib3 that notices, above
these methods.

The methods are wrapped on the classes for the duration of the cell, and
every thread's requests meanwhile are recorded: the cell's own, those of the
threads it starts (a ``threading.Thread``, a thread pool), and those of
threads it did not start but may well use (a pool made in an earlier cell).
Leaving any out would make the report claim fewer requests than were made;
``current_task()`` tells them apart.
"""

from __future__ import annotations

import http.client
import threading
from typing import Callable, NamedTuple

from ..render.units import error_text
from ..run import Request
from ..scope import CellScope, Swapping, Swaps

_Connection = http.client.HTTPConnection
_Response = http.client.HTTPResponse

#: Where a connection, then its response, keep the row they are recording: the
#: mark of a request started while the recorder is installed (from any thread),
#: so the calls that follow need no check of their own.
_ROW = "_gtm_request"
#: Set on a response while one of its reads is running (see ``_reader``).
_READING = "_gtm_reading"

#: Response methods that hand body bytes to the caller. ``_safe_read`` is how
#: urllib3 reads chunked bodies (so its chunks' CRLFs are counted too).
_READS = ("read", "read1", "readinto", "readline", "_safe_read")


class Fetched(NamedTuple):
    """A request the cell made, and who made it: the lane key the runner names."""

    request: Request
    lane: object


class HttpClientRecorder(Swapping):
    """Context manager recording in ``fetched`` the cell's ``http.client`` requests (see the module's docstring).

    ``current_task()``, called in the thread making the request, names who
    makes it (a greenlet's key, a thread's name).
    """

    def __init__(self, scope: CellScope, current_task: Callable[[], object]):
        self.scope = scope
        self.current_task = current_task
        self.fetched: list[Fetched] = []
        self.dropped = 0
        self._lock = threading.Lock()
        #: ``(request, when its status line arrived)`` for the responses with a body.
        self._answered: list[tuple[Request, float]] = []

    def swap_in(self, swaps: Swaps) -> None:
        wrap = swaps.wrap
        wrap(_Connection, "putrequest", self._putrequest)
        wrap(_Connection, "putheader", self._failing)
        wrap(_Connection, "endheaders", self._failing)
        wrap(_Connection, "getresponse", self._getresponse)
        for name in _READS:
            wrap(_Response, name, self._reader)
        wrap(_Response, "_close_conn", self._closer)
        wrap(_Response, "close", self._closer)

    def __exit__(self, *exc_info) -> None:
        super().__exit__(*exc_info)
        # A response whose body was never read nor closed ended, for the cell,
        # when its status line arrived: ``urlopen(url).status`` is a whole request.
        for request, answered in self._answered:
            if request.end is None:
                request.end = answered
        # Any other still open is still waiting for its answer, in a thread that runs on.
        ended = self.scope.now()
        for request, _ in self.fetched:
            if request.end is None:
                request.end, request.error = ended, "unfinished: no answer yet when the cell ended"

    def _putrequest(self, original):
        recorder = self

        def putrequest(conn, method, url, *args, **kwargs):
            conn.__dict__.pop(_ROW, None)
            recorder._start(conn, method, url)
            try:
                return original(conn, method, url, *args, **kwargs)
            except BaseException as exc:
                recorder._fail(conn.__dict__.get(_ROW), error_text(exc))
                raise

        return putrequest

    def _start(self, conn, method, url) -> None:
        if not url.startswith(("http://", "https://")):
            scheme = "https" if conn.default_port == 443 else "http"
            url = f"{scheme}://{conn.host}:{conn.port}{url}"
        request = Request(url=url, method=method, start=self.scope.now())
        task = self.current_task()
        # Several threads may start requests at once: the cap holds.
        with self._lock:
            if len(self.fetched) >= self.scope.limits.requests:
                self.dropped += 1
                return
            self.fetched.append(Fetched(request, task))
        conn.__dict__[_ROW] = request

    def _failing(self, original):
        """A connection method after ``putrequest``: if it raises, the request failed."""
        recorder = self

        def call(conn, *args, **kwargs):
            try:
                return original(conn, *args, **kwargs)
            except BaseException as exc:
                recorder._fail(conn.__dict__.get(_ROW), error_text(exc))
                raise

        return call

    def _getresponse(self, original):
        recorder = self

        def getresponse(conn):
            request = conn.__dict__.get(_ROW)
            try:
                response = original(conn)
            except BaseException as exc:
                recorder._fail(request, error_text(exc))
                raise
            if request is not None:
                request.status = response.status
                if response.fp is None:  # no body: http.client closed it already
                    request.end = recorder.scope.now()
                else:
                    response.__dict__[_ROW] = request
                    recorder._answered.append((request, recorder.scope.now()))
            return response

        return getresponse

    def _reader(self, original):
        recorder = self

        def read(response, *args, **kwargs):
            state = response.__dict__
            request = state.get(_ROW)
            # read() calls readinto() and _safe_read(): count the outermost call only.
            if request is None or state.get(_READING):
                return original(response, *args, **kwargs)
            state[_READING] = True
            was_open = response.fp is not None
            try:
                data = original(response, *args, **kwargs)
            except BaseException as exc:
                recorder._fail(request, error_text(exc))
                raise
            finally:
                state[_READING] = False
            request.nbytes += data if isinstance(data, int) else len(data)
            if was_open and response.fp is None and response.length:  # the data ended short of the length
                recorder._fail(request, f"IncompleteRead({request.nbytes} bytes read, {response.length} more expected)")
            return data

        return read

    def _closer(self, original):
        recorder = self

        def close(response, *args, **kwargs):
            request = response.__dict__.get(_ROW)
            if request is not None and request.end is None:
                request.end = recorder.scope.now()
            return original(response, *args, **kwargs)

        return close

    def _fail(self, request: Request | None, error: str) -> None:
        """Mark ``request`` failed; the first error is the one kept."""
        if request is None or request.error is not None:
            return
        if request.end is None:  # a body cut short ended when its connection closed, a moment ago
            request.end = self.scope.now()
        request.error = error
