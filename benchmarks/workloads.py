"""The fetch workloads: one piece of code per model, run as a script and as a cell.

Each workload fetches ``URL`` ``N`` times at once and leaves ``ok``, the
number of 200 answers, in its namespace. The harness sets ``URL`` and ``N``;
everything else is the code a student would write, the same text in the
plain script and in the magic cell, so the ratio between the two is the cost
of the magic and nothing else. Only the last line differs for Tornado: a
script runs the loop itself (``run_sync``), a ``%%tornado`` cell awaits on
the kernel's loop.
"""

from __future__ import annotations

from dataclasses import dataclass

GEVENT = """\
import gevent
from gevent import monkey
monkey.patch_all()
import urllib.request

def fetch(url):
    with urllib.request.urlopen(url) as response:
        return response.status, response.read()

jobs = [gevent.spawn(fetch, URL) for _ in range(N)]
gevent.joinall(jobs)
"""
GEVENT_RESULT = "ok = sum(job.successful() and job.value[0] == 200 for job in jobs)\n"

TORNADO = """\
import asyncio
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop

async def fetch_all(urls):
    client = AsyncHTTPClient(force_instance=True, max_clients=len(urls))
    try:
        # Tornado gives up on a request after 20 s by default; on a busy machine, resolving
        # 10,000 host names in its thread pool takes longer than that.
        responses = await asyncio.gather(*(client.fetch(url, connect_timeout=600, request_timeout=600) for url in urls))
    finally:
        client.close()
    return sum(response.code == 200 for response in responses)

"""


#: How a magic cell is run in the benchmarks: its options for each trace level.
MAGIC_OPTIONS = {"traced": "", "untraced": "--no-trace"}


@dataclass(frozen=True)
class Workload:
    """One model's fetch code, and how a script and a cell each run it."""

    model: str
    body: str
    #: The last line as a plain script runs it, and as a cell does.
    script_ending: str
    cell_ending: str
    #: Whether a kernel can run it as a plain cell, without the magic: it can
    #: await on its own loop, but ``patch_all()`` would patch its threads.
    runs_as_plain_cell: bool

    @property
    def script(self) -> str:
        return self.body + self.script_ending

    @property
    def plain_cell(self) -> str:
        return self.body + self.cell_ending

    def cell(self, options: str = "") -> str:
        """The workload as a cell: ``%%gevent``/``%%tornado`` with ``options``."""
        return f"%%{self.model} {options}".rstrip() + "\n" + self.plain_cell


WORKLOADS = {
    "gevent": Workload("gevent", GEVENT, GEVENT_RESULT, GEVENT_RESULT, runs_as_plain_cell=False),
    "tornado": Workload(
        "tornado",
        TORNADO,
        "ok = IOLoop.current().run_sync(lambda: fetch_all([URL] * N))\n",
        "ok = await fetch_all([URL] * N)\n",
        runs_as_plain_cell=True,
    ),
}

#: A cell that makes about ``2 * GREENLETS * TURNS`` greenlet switches and
#: nothing else: every ``sleep(0)`` switches to the hub and back.
SWITCHES = """\
import gevent

def spin(turns):
    for _ in range(turns):
        gevent.sleep(0)

gevent.joinall([gevent.spawn(spin, TURNS) for _ in range(GREENLETS)])
"""

#: Empty cells, to measure what a magic costs before the cell does anything.
#: ``--patch`` adds what patching the standard library costs a cell.
EMPTY_CELLS = {
    "plain": "pass",
    "gevent": "%%gevent\npass",
    "gevent --patch": "%%gevent --patch\npass",
    "tornado": "%%tornado\npass",
    "tornado --no-trace": "%%tornado --no-trace\npass",
}


def empty_cells(has_magic) -> dict[str, str]:
    """``EMPTY_CELLS`` but those of a magic that ``has_magic(name)`` says is missing."""
    return {label: cell for label, cell in EMPTY_CELLS.items() if label == "plain" or has_magic(label.split()[0])}
