"""The demo server's Tornado application: its endpoints and their bounds.

Every endpoint answers a GET with a body that depends only on the URL, so a
lesson draws the same picture every time it runs.  Handlers wait by awaiting
a timer, never with ``time.sleep``: a waiting handler costs the event loop
nothing, so one process serves thousands of slow requests at once.

Every input is bounded (see the ``MAX_*`` constants).  A request outside the
bounds gets a 400 ``text/plain`` response whose one-line body names the allowed
range, so no URL can make the server hang or allocate without limit.
"""

import asyncio
import html
import http.client
from collections.abc import AsyncIterator
from typing import NoReturn

import tornado.httputil
import tornado.iostream
import tornado.web

MAX_DELAY = 30.0
"""Longest wait in seconds: ``/delay/<s>``, every ``?delay=`` and ``/drip``'s ``duration``."""

MAX_BYTES = 10_000_000
"""Largest body ``/bytes/<n>`` serves."""

MAX_DRIP_BYTES = 1_000_000
"""Largest body ``/drip`` sends."""

MAX_DRIP_CHUNKS = 1000
"""Most chunks ``/drip`` splits its body into."""

MAX_LINK_PAGES = 1000
"""Most pages in a ``/links/<n>`` site."""

# The bodies of /bytes and /drip are this 64-byte line repeated and cut to
# length: plain ASCII, identical in every lesson, and easy to size by eye.
_BODY_LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.\n"

# /bytes sends its body in pieces of this size and waits for each to reach the
# socket, so even a MAX_BYTES response holds one piece in memory at a time.
_STREAM_PIECE = 64 * 1024

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

_ENDPOINTS = [
    ("/delay/0.5", f"wait 0.5 s, then answer (0 to {MAX_DELAY:g} s)"),
    ("/bytes/1024", f"a body of exactly 1024 bytes (0 to {MAX_BYTES:,}); ?delay=S waits first"),
    ("/status/418", "answer with that status code (200 to 599); ?delay=S waits first"),
    (
        "/drip?bytes=100&chunks=10&duration=1",
        f"a slow body: bytes (0 to {MAX_DRIP_BYTES:,}) in chunks (1 to {MAX_DRIP_CHUNKS})"
        f" spread over duration (0 to {MAX_DELAY:g} s)",
    ),
    (
        "/links/10/0",
        f"page 0 of a site of 10 linked pages (1 to {MAX_LINK_PAGES}), for crawlers;"
        " ?delay=S slows every page",
    ),
]


def body_bytes(start: int, size: int) -> bytes:
    """Return ``size`` bytes of the demo body, starting at offset ``start``.

    ``/bytes/<n>`` serves ``body_bytes(0, n)``; ``/drip?bytes=<n>`` sends the
    very same bytes, only slowly.
    """
    skip = start % len(_BODY_LINE)
    lines = (skip + size) // len(_BODY_LINE) + 1
    return (_BODY_LINE * lines)[skip : skip + size]


def link_targets(pages: int, page: int) -> list[int]:
    """Return the pages that ``page`` links to, in a site of ``pages`` pages.

    Page i links to pages 2i+1 and 2i+2, wrapping around modulo ``pages``.
    From page 0 the links form a binary tree that reaches every page within
    about log2(pages) hops, and the last pages link back into the tree, so a
    crawler has to remember what it has already seen.  Self-links are left out.
    """
    wrapped = ((2 * page + 1) % pages, (2 * page + 2) % pages)
    return [target for target in dict.fromkeys(wrapped) if target != page]


class _DemoHandler(tornado.web.RequestHandler):
    """Parsing, waiting and error reporting shared by the demo endpoints."""

    def initialize(self) -> None:
        # Resolved when the client hangs up (or the server shuts down), so a
        # handler stops waiting for a client that is gone: a benchmark whose
        # requests time out leaves no work behind, and a shutdown leaves no
        # handler to cancel halfway through a response.
        self._hangup = asyncio.get_running_loop().create_future()

    def on_connection_close(self) -> None:
        if not self._hangup.done():
            self._hangup.set_result(None)

    def compute_etag(self) -> None:
        # No ETag: otherwise a client that sends If-None-Match gets a bodiless
        # 304, and a lesson shows a different picture on its second run.
        return None

    def reject(self, message: str, status: int = 400) -> NoReturn:
        """End the request with ``status`` and a text/plain ``message``."""
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        raise tornado.web.Finish(message + "\n")

    def parse_int(self, text: str, name: str, low: int, high: int, status: int = 400) -> int:
        """Return ``text`` as an integer in ``low..high``, or reject the request with ``status``."""
        refusal = f"{name} must be an integer from {low} to {high}, not {text!r}"
        try:
            value = int(text)
        except ValueError:
            self.reject(refusal, status)
        if not low <= value <= high:
            self.reject(refusal, status)
        return value

    def parse_seconds(self, text: str, name: str) -> float:
        """Return ``text`` as a number of seconds in ``0..MAX_DELAY``, or reject the request."""
        refusal = f"{name} must be a number of seconds from 0 to {MAX_DELAY:g}, not {text!r}"
        try:
            value = float(text)
        except ValueError:
            self.reject(refusal)
        # Phrased so that NaN, which fails every comparison, is rejected too.
        if not 0 <= value <= MAX_DELAY:
            self.reject(refusal)
        return value

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        """Return the query argument ``name`` as an integer in ``low..high``."""
        return self.parse_int(self.get_query_argument(name, str(default)), name, low, high)

    def query_seconds(self, name: str, default: float) -> float:
        """Return the query argument ``name`` as a number of seconds in ``0..MAX_DELAY``."""
        return self.parse_seconds(self.get_query_argument(name, str(default)), name)

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` without blocking the server; return False if the client hung up meanwhile."""
        # asyncio.wait on a future (not a coroutine) just sets a timer: the
        # cheapest wait there is, which matters at 10,000 waiting requests.
        await asyncio.wait([self._hangup], timeout=seconds)
        return not self._hangup.done()

    async def send_pieces(self, pieces: AsyncIterator[bytes]) -> None:
        """Write and flush each piece in turn; stop quietly if the client hangs up.

        Flushing waits until the piece is handed to the socket, which keeps
        memory bounded and makes each piece arrive as a separate read.  A client
        that leaves early (a timeout, a cancelled task) is routine in lessons,
        not a server error worth a traceback.
        """
        try:
            async for piece in pieces:
                self.write(piece)
                await self.flush()
        except tornado.iostream.StreamClosedError:
            return


class IndexHandler(_DemoHandler):
    """``/``: a small HTML page listing the endpoints, one example each."""

    def get(self) -> None:
        items = "\n".join(
            f'<li><a href="{html.escape(path)}">{html.escape(path)}</a>: {html.escape(text)}</li>'
            for path, text in _ENDPOINTS
        )
        self.finish(
            "<!doctype html>\n<html><head><title>demo server</title></head><body>\n"
            "<h1>demo server</h1>\n"
            f"<ul>\n{items}\n</ul>\n"
            "</body></html>\n"
        )


class DelayHandler(_DemoHandler):
    """``/delay/<seconds>``: wait, then answer with a short text body."""

    async def get(self, seconds_text: str) -> None:
        seconds = self.parse_seconds(seconds_text, "delay")
        if await self.pause(seconds):
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"delayed {seconds:g} s\n")


class BytesHandler(_DemoHandler):
    """``/bytes/<n>``: a body of exactly n bytes, ``body_bytes(0, n)``."""

    async def get(self, size_text: str) -> None:
        size = self.parse_int(size_text, "byte count", 0, MAX_BYTES)
        if await self.pause(self.query_seconds("delay", 0)):
            self.set_header("Content-Type", "application/octet-stream")
            # Announced up front because the body is streamed: the client knows
            # the size from the headers, and Tornado checks we send exactly that.
            self.set_header("Content-Length", str(size))
            await self.send_pieces(self._pieces(size))

    @staticmethod
    async def _pieces(size: int) -> AsyncIterator[bytes]:
        for start in range(0, size, _STREAM_PIECE):
            yield body_bytes(start, min(_STREAM_PIECE, size - start))


class StatusHandler(_DemoHandler):
    """``/status/<code>``: answer with that status and a body naming it.

    Redirect codes point ``Location`` at ``/``.  204 and 304 get no body,
    because HTTP forbids one.  Codes below 200 are refused: a 1xx is never a
    final answer, so a client given one would wait for another forever.
    """

    async def get(self, code_text: str) -> None:
        code = self.parse_int(code_text, "status code", 200, 599)
        if not await self.pause(self.query_seconds("delay", 0)):
            return
        self.set_status(code)
        if code in _REDIRECT_CODES:
            self.set_header("Location", "/")
        if code in (204, 304):
            self.finish()
        else:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"{code} {http.client.responses.get(code, 'Unknown')}\n")


class DripHandler(_DemoHandler):
    """``/drip?bytes=N&chunks=K&duration=S``: a slow body.

    The headers go out at once; then the N bytes of ``body_bytes`` follow in K
    chunks, chunk k at (k+1)*S/K seconds, so the last one ends the response
    after S seconds.  Times count from the start, not from the previous chunk,
    so the schedule does not drift.
    """

    async def get(self) -> None:
        size = self.query_int("bytes", 100, 0, MAX_DRIP_BYTES)
        chunks = self.query_int("chunks", 10, 1, MAX_DRIP_CHUNKS)
        duration = self.query_seconds("duration", 1)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(size))
        await self.send_pieces(self._chunks(size, chunks, duration))

    async def _chunks(self, size: int, chunks: int, duration: float) -> AsyncIterator[bytes]:
        # An empty first piece makes send_pieces flush just the headers, at once.
        yield b""
        loop = asyncio.get_running_loop()
        started = loop.time()
        for index in range(chunks):
            if not await self.pause(started + duration * (index + 1) / chunks - loop.time()):
                return
            # Chunk sizes differ by at most one byte and add up to exactly size.
            start, end = size * index // chunks, size * (index + 1) // chunks
            yield body_bytes(start, end - start)


class LinksHandler(_DemoHandler):
    """``/links/<n>/<i>``: page i of a site of n linked HTML pages, for crawlers.

    ``/links/<n>`` redirects to page 0.  A ``?delay=S`` slows the page and is
    carried into its links, so a whole crawl is equally slow.
    """

    async def get(self, pages_text: str, page_text: str | None) -> None:
        pages = self.parse_int(pages_text, "number of pages", 1, MAX_LINK_PAGES)
        delay = self.query_seconds("delay", 0)
        query = {"delay": repr(delay)} if delay else {}

        def page_url(page: int) -> str:
            return tornado.httputil.url_concat(f"/links/{pages}/{page}", query)

        if page_text is None:
            self.redirect(page_url(0))
            return
        # A page outside the site is a broken link, hence 404 rather than 400.
        page = self.parse_int(page_text, "page", 0, pages - 1, status=404)
        if not await self.pause(delay):
            return
        items = "\n".join(
            f'<li><a href="{page_url(target)}">page {target}</a></li>' for target in link_targets(pages, page)
        )
        self.finish(
            f"<!doctype html>\n<html><head><title>page {page} of {pages}</title></head><body>\n"
            f"<h1>page {page} of {pages}</h1>\n"
            f"<ul>\n{items}\n</ul>\n"
            "</body></html>\n"
        )


def _log_nothing(handler: tornado.web.RequestHandler) -> None:
    """Log no requests: at 10,000 requests a benchmark would mostly measure logging.

    Handler crashes are still logged, by Tornado, on ``tornado.application``.
    """


def make_app() -> tornado.web.Application:
    """Return the demo application: the endpoints above; any other path is Tornado's 404."""
    return tornado.web.Application(
        [
            (r"/", IndexHandler),
            (r"/delay/([^/]+)", DelayHandler),
            (r"/bytes/([^/]+)", BytesHandler),
            (r"/status/([^/]+)", StatusHandler),
            (r"/drip", DripHandler),
            (r"/links/([^/]+)(?:/([^/]+))?", LinksHandler),
        ],
        log_function=_log_nothing,
    )
