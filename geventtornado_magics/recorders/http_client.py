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

The methods are wrapped on the classes for the duration of the cell, and only
calls from the cell's thread are recorded: a background thread's requests are
not the cell's.
"""

from __future__ import annotations

import http.client
import threading
from time import perf_counter
from typing import Callable

from ..run import Request

_Connection = http.client.HTTPConnection
_Response = http.client.HTTPResponse

#: Response methods that hand body bytes to the caller. ``_safe_read`` is how
#: urllib3 reads chunked bodies (so its chunks' CRLFs are counted too).
_READS = ("read", "read1", "readinto", "readline", "_safe_read")


class HttpClientRecorder:
    """Context manager recording ``http.client`` requests made in this thread.

    ``current_task()`` names who is making the request (a greenlet's key);
    ``t0`` is the cell's start on the ``perf_counter`` clock.
    """

    def __init__(self, t0: float, current_task: Callable[[], object], cap: int):
        self.t0 = t0
        self.current_task = current_task
        self.cap = cap
        self.requests: list[Request] = []
        #: Key of the task that made each request, parallel to ``requests``.
        self.request_tasks: list[object] = []
        self.dropped = 0
        self._thread = threading.get_ident()
        self._originals: dict[tuple[type, str], object] = {}

    def __enter__(self) -> HttpClientRecorder:
        self._wrap(_Connection, "putrequest", self._putrequest)
        self._wrap(_Connection, "endheaders", self._endheaders)
        self._wrap(_Connection, "getresponse", self._getresponse)
        for name in _READS:
            self._wrap(_Response, name, self._reader)
        self._wrap(_Response, "_close_conn", self._closer)
        self._wrap(_Response, "close", self._closer)
        return self

    def __exit__(self, *exc_info) -> None:
        for (cls, name), original in self._originals.items():
            setattr(cls, name, original)
        self._originals.clear()

    def _now(self) -> float:
        return perf_counter() - self.t0

    def _wrap(self, cls, name, make_wrapper):
        original = cls.__dict__[name]
        self._originals[cls, name] = original
        wrapper = make_wrapper(original)
        wrapper.__name__ = wrapper.__qualname__ = name
        wrapper.__wrapped__ = original
        setattr(cls, name, wrapper)

    def _ours(self, obj) -> Request | None:
        """The row ``obj`` (a connection or response) is recording, if any."""
        if threading.get_ident() != self._thread:
            return None
        return obj.__dict__.get("_gtm_request")

    def _putrequest(self, original):
        recorder = self

        def putrequest(conn, method, url, *args, **kwargs):
            conn.__dict__.pop("_gtm_request", None)
            if threading.get_ident() == recorder._thread:
                recorder._start(conn, method, url)
            return original(conn, method, url, *args, **kwargs)

        return putrequest

    def _start(self, conn, method, url) -> None:
        if len(self.requests) >= self.cap:
            self.dropped += 1
            return
        if not url.startswith(("http://", "https://")):
            scheme = "https" if conn.default_port == 443 else "http"
            url = f"{scheme}://{conn.host}:{conn.port}{url}"
        request = Request(url=url, method=method, start=self._now())
        self.requests.append(request)
        self.request_tasks.append(self.current_task())
        conn.__dict__["_gtm_request"] = request

    def _endheaders(self, original):
        recorder = self

        def endheaders(conn, *args, **kwargs):
            try:
                return original(conn, *args, **kwargs)
            except BaseException as exc:
                recorder._fail(recorder._ours(conn), exc)
                raise

        return endheaders

    def _getresponse(self, original):
        recorder = self

        def getresponse(conn):
            request = recorder._ours(conn)
            try:
                response = original(conn)
            except BaseException as exc:
                recorder._fail(request, exc)
                raise
            if request is not None:
                request.status = response.status
                if response.fp is None:  # no body: http.client closed it already
                    request.end = recorder._now()
                else:
                    response.__dict__["_gtm_request"] = request
            return response

        return getresponse

    def _reader(self, original):
        recorder = self

        def read(response, *args, **kwargs):
            request = recorder._ours(response)
            # read() calls readinto() and _safe_read(): count the outermost call only.
            if request is None or response.__dict__.get("_gtm_reading"):
                return original(response, *args, **kwargs)
            response.__dict__["_gtm_reading"] = True
            try:
                data = original(response, *args, **kwargs)
            except BaseException as exc:
                recorder._fail(request, exc)
                raise
            finally:
                response.__dict__["_gtm_reading"] = False
            request.nbytes += data if isinstance(data, int) else len(data)
            return data

        return read

    def _closer(self, original):
        recorder = self

        def close(response, *args, **kwargs):
            request = recorder._ours(response)
            if request is not None and request.end is None:
                request.end = recorder._now()
            return original(response, *args, **kwargs)

        return close

    def _fail(self, request: Request | None, exc: BaseException) -> None:
        if request is not None and request.end is None:
            request.end = self._now()
            request.error = describe_error(exc)


def describe_error(exc: BaseException) -> str:
    """A one-line account of why a request failed, e.g. ``ConnectionRefusedError: ...``."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
