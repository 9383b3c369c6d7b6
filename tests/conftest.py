"""Shared fixtures: a loopback demo server, an in-process shell, a real kernel."""

from __future__ import annotations

import pytest

from geventtornado_magics.demo import DemoServer

from .kernel import Kernel


@pytest.fixture(scope="session")
def demo_url():
    """Base URL of a demo server on 127.0.0.1 (``/delay/<s>``, ``/status/<code>``, ...)."""
    server = DemoServer()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def ip():
    """IPython's in-process test shell with the extension loaded."""
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "geventtornado_magics")
    yield shell


@pytest.fixture(scope="module")
def kernel(demo_url):
    """A real ipykernel with the extension loaded and ``DEMO`` set to the demo server's URL."""
    k = Kernel()
    k.ok(f"%load_ext geventtornado_magics\nDEMO = {demo_url!r}")
    yield k
    k.shutdown()
