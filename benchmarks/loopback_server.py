"""The smallest HTTP server that answers the benchmark's URLs, so it is never the bottleneck.

    python -m benchmarks.loopback_server      # prints its URL, serves until stdin closes

The demo server is a Tornado application: routing, handlers, headers, two
to three times the CPU per request of this one, which is raw ``asyncio``
protocols answering one fixed response. Ten thousand requests at once to the
demo server keep its one core nearly busy and overflow its listen queue, and
a client's wall time then measures the server; against this one, they
measure the client (``servers`` checks, for every run, how busy the server
was).

It answers ``/delay/<seconds>`` like the demo server (``delayed <s> s``,
after that many seconds, by a timer) and anything else at once; every
response closes its connection, as the demo server's do for these clients.
"""

from __future__ import annotations

import asyncio
import os
import sys

from .probe import raise_open_file_limit

#: How many connections the OS may queue while the loop accepts others. Linux
#: caps it at net.core.somaxconn; ``servers.listen_overflows`` counts the excess.
BACKLOG = 16384


def _response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


class _Answer(asyncio.Protocol):
    """One connection: read the request head, answer (maybe after a delay), close."""

    def connection_made(self, transport):
        self.transport = transport
        self.head = b""

    def data_received(self, data):
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        path = self.head.split(b" ", 2)[1]
        delay = path.removeprefix(b"/delay/")
        if delay is path:
            self._send(_response(b"ok\n"))
            return
        seconds = float(delay)
        reply = _response(b"delayed %s s\n" % delay)
        asyncio.get_running_loop().call_later(seconds, self._send, reply)

    def _send(self, reply: bytes):
        if not self.transport.is_closing():
            self.transport.write(reply)
            self.transport.close()


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Answer, "127.0.0.1", 0, backlog=BACKLOG)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    # The parent never writes: stdin readable means it closed the pipe or died.
    closed = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: closed.done() or closed.set_result(None))
    await closed
    server.close()


if __name__ == "__main__":
    raise_open_file_limit()
    os.setpgrp()  # a Ctrl-C meant for the benchmark's terminal is the parent's to handle
    asyncio.run(_serve())
