"""Run the demo server: ``python -m geventtornado_magics.demo [--host 127.0.0.1] [--port 0]``.

Run by hand, it prints its URL and serves until Ctrl-C; the default port 0
lets the OS pick a free one.  ``DemoServer`` runs the same command as a child
process with ``--watch-stdin``, which makes the server exit as soon as its
stdin reaches end-of-file, that is, as soon as the parent process is gone.
"""

import argparse
import asyncio
import ipaddress
import os
import resource
import signal
import socket
import sys

import tornado.httpserver
import tornado.netutil

from .app import make_app
from .process import ANNOUNCEMENT

# How many connections the OS queues while the loop is busy accepting others:
# enough for a benchmark opening 10,000 at once.  Linux silently caps it at
# net.core.somaxconn.
_LISTEN_BACKLOG = 16384

# Every endpoint is a GET: refuse request bodies instead of buffering up to
# Tornado's default of 100 MB per connection.
_MAX_REQUEST_BODY = 64 * 1024


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, then serve until SIGINT, SIGTERM or, with ``--watch-stdin``, stdin EOF."""
    args = _parse_args(argv)
    _raise_open_file_limit()
    try:
        sockets = tornado.netutil.bind_sockets(args.port, args.host, backlog=_LISTEN_BACKLOG)
    except OSError as error:
        sys.exit(f"cannot listen on {args.host} port {args.port}: {error}")
    asyncio.run(_serve(sockets, watch_stdin=args.watch_stdin))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m geventtornado_magics.demo",
        description="Serve the demo endpoints for concurrency lessons (see / for the list).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: any free port)")
    parser.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        # A server that sleeps and streams on demand is a gift to anyone who
        # can reach it; it is for this machine's lessons only.
        parser.error(f"--host must be a loopback address such as 127.0.0.1 or ::1, not {args.host!r}")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535, not {args.port}")
    return args


def _raise_open_file_limit() -> None:
    """Raise the soft limit on open files to the hard limit.

    Every connection is a file descriptor, and the usual soft limit (often
    1024) is far below the 10,000 connections a benchmark opens.  Any process
    may raise its soft limit up to the hard one.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            # macOS, for one, refuses an unlimited hard limit as a soft limit;
            # serve with the limit we have.
            pass


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _serve(sockets: list[socket.socket], watch_stdin: bool) -> None:
    server = tornado.httpserver.HTTPServer(make_app(), max_body_size=_MAX_REQUEST_BODY)
    server.add_sockets(sockets)
    url = _url(sockets[0])
    print(ANNOUNCEMENT, url, flush=True)

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    # Handled by the loop, so Ctrl-C ends the server cleanly, without a traceback.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    if watch_stdin:
        stdin = sys.stdin.fileno()

        def on_stdin_readable() -> None:
            # The parent never writes, so readable means end-of-file: the
            # parent closed the pipe or died.
            if not os.read(stdin, 4096):
                loop.remove_reader(stdin)
                stopping.set()

        loop.add_reader(stdin, on_stdin_readable)
    else:
        print(f"demo server on {url} (Ctrl-C to stop)", flush=True)

    await stopping.wait()
    server.stop()
    await server.close_all_connections()


if __name__ == "__main__":
    main()
