"""Take a Tornado cell's concurrency away, for the second run of ``%%tornado --compare``.

The same cell, with every ``SimpleAsyncHTTPClient`` sending one request at a
time (``max_clients=1``), is the cell as if each ``fetch`` blocked: the
others wait in the client's queue. Comparing the two runs measures what the
concurrency bought.

The client reads ``self.max_clients`` each time it looks at its queue, so
setting it on the instance is enough, whether the client was made before the
cell (the kernel's cached one) or in it (``force_instance=True``). The first
``fetch`` a client makes in the cell sets it; leaving the cell puts every
client's own value back.
"""

from __future__ import annotations

from tornado.simple_httpclient import SimpleAsyncHTTPClient

from ..scope import Swapping, Swaps


class OneRequestAtATime(Swapping):
    """Context manager: every Tornado simple HTTP client runs at most one request at a time."""

    def swap_in(self, swaps: Swaps) -> None:
        swaps.wrap(SimpleAsyncHTTPClient, "fetch_impl", self._fetch_impl)

    def _fetch_impl(self, original):
        swaps = self._swaps
        serialized: set[int] = set()

        def fetch_impl(client, request, callback):
            if id(client) not in serialized:
                serialized.add(id(client))
                swaps.swap(client, "max_clients", 1)
            return original(client, request, callback)

        return fetch_impl
