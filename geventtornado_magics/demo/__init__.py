"""An embedded HTTP server that gives concurrency lessons something to fetch, offline.

Concurrency shows when requests wait: ten fetches of a URL that answers after
half a second take five seconds one after another, and half a second when
they overlap.  Real websites make that picture noisy and need a network, so
the lessons fetch from this server instead: it runs on 127.0.0.1, answers
exactly as slowly as the URL asks, and gives the same answer every time::

    from geventtornado_magics.demo import server_url

    base = server_url()   # starts the server on first use: "http://127.0.0.1:40919"
    # fetch f"{base}/delay/0.5" ten times, in turn, then all at once

Endpoints (all GET; ``?delay=S`` waits S seconds first where noted):

``/``
    An HTML page listing the endpoints, one example each.
``/delay/<seconds>``
    Answers ``delayed <seconds> s`` after that many seconds (0 to 30).
``/bytes/<n>``
    A body of exactly n bytes (0 to 10,000,000) of repeated ASCII; ``?delay=S``.
``/status/<code>``
    Answers with that status code (200 to 599) and a body naming it;
    redirects point to ``/``; ``?delay=S``.
``/drip?bytes=N&chunks=K&duration=S``
    A slow body: N bytes in K chunks spread over S seconds (defaults 100, 10
    and 1; at most 1,000,000 bytes, 1000 chunks and 30 s).
``/links/<n>/<i>``
    Page i of a site of n linked HTML pages (1 to 1000), for crawlers; every
    page is reachable from page 0, and ``/links/<n>`` redirects there;
    ``?delay=S`` slows every page of the crawl.

A value outside its bounds gets a 400 whose ``text/plain`` body says the
allowed range (a page outside a ``/links`` site gets a 404 saying the same);
an unknown path gets Tornado's 404.

The server runs as a child process, one per kernel, on a port the OS picks,
so a ``%%gevent`` cell's monkey patching never reaches it and many kernels on
one machine never collide.  It stops when the kernel exits, even when the
kernel is killed.  ``server_url()`` and ``stop_server()`` manage the kernel's
own server; ``DemoServer`` manages any number more.  To run one by hand:
``python -m geventtornado_magics.demo``.
"""

from .app import MAX_BYTES, MAX_DELAY, MAX_DRIP_BYTES, MAX_DRIP_CHUNKS, MAX_LINK_PAGES, make_app
from .process import DemoServer, server_url, stop_server

__all__ = [
    "MAX_BYTES",
    "MAX_DELAY",
    "MAX_DRIP_BYTES",
    "MAX_DRIP_CHUNKS",
    "MAX_LINK_PAGES",
    "DemoServer",
    "make_app",
    "server_url",
    "stop_server",
]
