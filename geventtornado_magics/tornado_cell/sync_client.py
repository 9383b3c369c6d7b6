"""Tornado's synchronous ``HTTPClient`` inside a ``%%tornado`` cell.

``HTTPClient`` is how a Tornado script fetches without a loop of its own:
it makes a private IOLoop and runs it for each ``fetch`` (``run_sync``). In a
kernel the thread's loop is already running, and asyncio refuses to run a
second one in the same thread: ``HTTPClient()`` fails with "Cannot run the
event loop while another loop is running", and so would each ``fetch``.

For the cell, ``HTTPClient`` makes its ``AsyncHTTPClient`` on the kernel's
loop instead, and ``fetch`` waits for it there with ``portal.await_``, where
the cell's own synchronous code runs (where a script would call it). The
request is then an ordinary ``AsyncHTTPClient`` fetch of the cell, recorded
like any other. In a coroutine or a callback, blocking is impossible: there
``fetch`` raises and names ``await AsyncHTTPClient().fetch(url)``.

It sets ``HTTPClient``'s private attributes as its ``__init__`` does
(``_closed``, ``_io_loop``, ``_async_client``), so that Tornado's own
``close()`` and ``__del__`` work on it; if Tornado renames them, a client
made in a cell fails in ``close()``.
"""

from __future__ import annotations

import sys

from tornado.httpclient import AsyncHTTPClient, HTTPClient
from tornado.ioloop import IOLoop

from ..scope import Swapping, Swaps
from .notes import SYNC_FETCH_ELSEWHERE
from .portal import await_, in_portal
from .work import TornadoScope



class BlockingHttpClient(Swapping):
    """Context manager: ``HTTPClient`` fetches on the kernel's loop while the cell runs.

    ``uses`` records the cell line of each blocking ``fetch``, for the report.
    """

    def __init__(self, scope: TornadoScope):
        self.scope = scope
        self.work = scope.work
        self.uses: list[int | None] = []

    def swap_in(self, swaps: Swaps) -> None:
        swaps.wrap(HTTPClient, "__init__", self._init)
        swaps.wrap(HTTPClient, "fetch", self._fetch)

    def _init(self, original):
        patch = self

        def __init__(client, async_client_class=None, **kwargs):
            if not patch.work.is_current():
                return original(client, async_client_class, **kwargs)
            client._closed = True
            # Never run: it is there for Tornado's close(), which closes it.
            client._io_loop = IOLoop(make_current=False)
            kwargs.setdefault("force_instance", True)  # the client is this HTTPClient's own, as in a script
            client._async_client = (async_client_class or AsyncHTTPClient)(**kwargs)
            client._closed = False

        return __init__

    def _fetch(self, original):
        patch = self

        def fetch(client, request, **kwargs):
            if not patch.work.is_current():
                return original(client, request, **kwargs)
            if not in_portal() or client._async_client.io_loop is not IOLoop.current():
                raise RuntimeError(SYNC_FETCH_ELSEWHERE)
            patch.uses.append(patch.scope.line_of(sys._getframe(1)))
            return await_(client._async_client.fetch(request, **kwargs))

        return fetch
