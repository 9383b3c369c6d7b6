"""Start the demo server as a child process of the kernel, learn its URL, stop it.

The server never runs inside the kernel process: a ``%%gevent`` cell may
monkey-patch the kernel's sockets, threads and sleeps, and a server sharing
that process would be patched with it and change what the lesson measures.  A
child process runs its own interpreter, untouched by any patching.

Each kernel gets its own child listening on a port the OS picks, so any number
of kernels on one host never collide.  The child is tied to the kernel's life
through a pipe on its stdin: when the kernel exits, however it exits, even by
SIGKILL, the OS closes the pipe, the child reads end-of-file and exits.  The
child also runs in a session of its own, so a Ctrl-C in the terminal that
started Jupyter does not reach it.

All of this works whether or not gevent has monkey-patched the kernel.  The
code calls ``subprocess``, ``selectors`` and ``time`` as they are at call time,
gevent's versions once patched: keeping the originals would not do, because
the stdlib ``Popen`` stops working once gevent patches ``subprocess``.

POSIX only: the lifeline relies on pipes being selectable and on sessions.
"""

import atexit
import contextlib
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

ANNOUNCEMENT = "GTM_DEMO_URL"
"""The child's first line on stdout is ``ANNOUNCEMENT``, a space and its base URL."""

# How often a caller waiting for a DemoServer's lock tries it again, in seconds.
_LOCK_POLL_INTERVAL = 0.01


class DemoServer:
    """One demo server child process.

    ``start()`` launches the child (again, if it died) and returns its base
    URL; ``stop()`` ends it.  Both are safe to call from several threads.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        state = f"running at {self._url}, pid {self.pid}" if self.running else "stopped"
        return f"<DemoServer {state}>"

    @property
    def pid(self) -> int | None:
        """The child's process id, or None if it was never started or is stopped."""
        process = self._process
        return process.pid if process is not None else None

    @property
    def running(self) -> bool:
        """Whether the child is alive."""
        process = self._process
        return process is not None and process.poll() is None

    @property
    def url(self) -> str | None:
        """The base URL, like ``http://127.0.0.1:PORT``, or None when not running."""
        return self._url if self.running else None

    def start(self, timeout: float = 10.0) -> str:
        """Start the child unless it is running, and return its base URL.

        Raises RuntimeError, with what the child wrote to stderr, if it does
        not announce its URL within ``timeout`` seconds.
        """
        with _holding(self._lock):
            if self.running:
                return self._url
            if self._process is not None:
                # It died: reap it and close our end of its lifeline.
                _end(self._process, timeout=0)
                self._process = self._url = None
            self._process, self._url = _launch(self.host, timeout)
            return self._url

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the child: SIGTERM, then SIGKILL after ``timeout`` seconds.  Idempotent."""
        with _holding(self._lock):
            process, self._process, self._url = self._process, None, None
        # Ending it can take a while, and nothing else needs to wait for that.
        if process is not None:
            _end(process, timeout)


@contextlib.contextmanager
def _holding(lock: threading.Lock) -> Iterator[None]:
    """Hold ``lock``, waiting for it in a way that works with and without gevent.

    A cell may monkey-patch the kernel after this module made the lock, and
    then call ``server_url()`` from many greenlets at once.  Blocking on a
    plain lock held by another greenlet of the same thread would freeze that
    thread for good; polling with ``time.sleep``, patched or not, lets the
    holder run and finish, whether it is a greenlet or a thread.
    """
    while not lock.acquire(blocking=False):
        time.sleep(_LOCK_POLL_INTERVAL)
    try:
        yield
    finally:
        lock.release()


def _launch(host: str, timeout: float) -> tuple[subprocess.Popen, str]:
    """Start a child serving on ``host`` and a free port; return it and its URL."""
    command = [sys.executable, "-m", "geventtornado_magics.demo", "--host", host, "--port", "0", "--watch-stdin"]
    # The child's stderr goes to an anonymous temporary file: it is only read
    # if the start fails, and unlike a pipe it can never fill up and block.
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            url = _read_announcement(process, timeout)
        except RuntimeError as error:
            _end(process, timeout=1.0)
            stderr.seek(0)
            printed = stderr.read().decode(errors="replace").strip()
            raise RuntimeError(f"{error}; it printed:\n{printed or '(nothing)'}") from None
        finally:
            # The child prints nothing after its announcement.
            process.stdout.close()
    return process, url


def _read_announcement(process: subprocess.Popen, timeout: float) -> str:
    """Wait up to ``timeout`` seconds for the child's announcement; return the URL.

    A selector rather than ``readline()``, so a child that hangs cannot hang
    the kernel; and not ``select.select()``, which fails on descriptors above
    1023, common in a kernel that has just opened thousands of connections.
    """
    deadline = time.monotonic() + timeout
    received = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"the demo server did not start within {timeout:g} s")
            if selector.select(remaining):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError("the demo server exited while starting")
                received += chunk
    line = received.partition(b"\n")[0].decode(errors="replace")
    marker, _, url = line.partition(" ")
    if marker != ANNOUNCEMENT:
        raise RuntimeError(f"the demo server did not announce its URL, but said {line!r}")
    return url


def _end(process: subprocess.Popen, timeout: float) -> None:
    """Make ``process`` exit and reap it: SIGTERM, then SIGKILL after ``timeout`` s."""
    process.terminate()
    process.stdin.close()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_default_server = DemoServer()


def server_url() -> str:
    """Return the base URL of this process's demo server, starting it if needed.

    The first call starts the server; later calls return its URL at once, or
    start a new server if the old one died.  Safe to call from several threads.
    """
    return _default_server.start()


def stop_server() -> None:
    """Stop this process's demo server, if it runs.  Also runs at interpreter exit."""
    _default_server.stop()


atexit.register(stop_server)
