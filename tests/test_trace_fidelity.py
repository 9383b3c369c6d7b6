"""What the trace shows, pinned: every switch or callback, its lane names and its cell line.

The recorders are tuned for speed (issue 14); these cells have one possible
order of events, so the whole trace is compared, entry by entry, with what a
teacher reads in the report: who yielded to whom, on which cell line, and
which request rows came out.
"""

from __future__ import annotations

import re

from IPython.utils.capture import capture_output

import geventtornado_magics

GEVENT_CELL = """\
import gevent, urllib.request

def nap(seconds):
    gevent.sleep(seconds)

def worker(name, seconds):
    nap(seconds)
    gevent.sleep(0)
    return name

def fetch(url):
    return urllib.request.urlopen(url).read()

jobs = [gevent.spawn(worker, 'a', 0.02), gevent.spawn(worker, 'b', 0.2)]
gevent.joinall(jobs)
gevent.spawn(fetch, DEMO + '/bytes/10').join()
"""

TORNADO_CELL = """\
import asyncio
from tornado.httpclient import AsyncHTTPClient

async def nap(seconds):
    await asyncio.sleep(seconds)

async def worker(name, seconds):
    await nap(seconds)
    return name

def tick():
    pass

asyncio.get_running_loop().call_soon(tick)
await asyncio.gather(worker('a', 0.02), worker('b', 0.2))
response = await AsyncHTTPClient().fetch(DEMO + '/bytes/10')
"""


def run_cell(ip, magic: str, body: str, demo_url: str):
    ip.user_ns["DEMO"] = demo_url
    with capture_output():
        # Greenlets or callbacks an earlier test left on the hub or loop run out in a cell of their own.
        ip.run_cell(f"%%{magic}\nimport gevent, asyncio\n" + ("gevent.sleep(0.05)" if magic == "gevent" else "await asyncio.sleep(0.05)"))
        ip.run_cell(f"%%{magic}\n{body}", store_history=True).raise_error()
    return geventtornado_magics.last_run()


def test_gevent_trace_keeps_every_switch_with_its_lanes_and_cell_lines(ip, demo_url):
    run = run_cell(ip, "gevent", GEVENT_CELL, demo_url)
    switches = [(e.kind, e.source, e.target, e.label, e.line) for e in run.events]
    a, b, fetch = "worker('a', 0.02)", "worker('b', 0.2)", f"fetch('{demo_url}/bytes/10')"
    assert switches == [
        ("switch", "cell", "hub", "waits", 15),  # joinall
        ("switch", "hub", a, "resumed", None),
        ("switch", a, "hub", "waits", 4),  # in nap, called from the cell's worker
        ("switch", "hub", b, "resumed", None),
        ("switch", b, "hub", "waits", 4),
        ("switch", "hub", a, "resumed", None),
        ("switch", a, "hub", "waits", 8),  # gevent.sleep(0)
        ("switch", "hub", a, "resumed", None),
        ("switch", a, "hub", "finished", None),
        ("switch", "hub", "cell", "resumed", None),
        ("switch", "cell", "hub", "waits", 15),
        ("switch", "hub", b, "resumed", None),
        ("switch", b, "hub", "waits", 8),
        ("switch", "hub", b, "resumed", None),
        ("switch", b, "hub", "finished", None),
        ("switch", "hub", "cell", "resumed", None),
        # Without patching, urlopen blocks: its greenlet runs to the end in one go.
        ("switch", "cell", "hub", "waits", 16),
        ("switch", "hub", fetch, "resumed", None),
        ("switch", fetch, "hub", "finished", None),
        ("switch", "hub", "cell", "resumed", None),
    ]
    assert [(t.name, t.state, t.result) for t in run.tasks] == [(a, "done", "'a'"), (b, "done", "'b'"), (fetch, "done", "b'0123456789'")]
    assert [(r.url, r.status, r.nbytes, r.task) for r in run.requests] == [(demo_url + "/bytes/10", 200, 10, fetch)]
    times = [e.time for e in run.events]
    assert times == sorted(times) and 0.02 <= times[5] and 0.2 <= times[13] < run.wall


def test_tornado_trace_keeps_every_callback_with_its_lane_label_and_cell_line(ip, demo_url):
    run = run_cell(ip, "tornado", TORNADO_CELL, demo_url)
    callbacks = [(e.kind, e.source, re.sub(r"fd \d+", "fd N", e.label), e.line) for e in run.events]
    a, b = "worker('a', 0.02)", "worker('b', 0.2)"
    assert callbacks[:10] == [
        ("callback", "loop", "tick", 11),  # where tick is defined
        ("step", a, "worker starts", 7),
        ("step", b, "worker starts", 7),
        ("timer", "loop", "asyncio.sleep ends", None),
        ("step", a, "worker resumes", 5),  # in nap, awaited by the cell's worker
        ("callback", "loop", "gather.<locals>._done_callback", None),
        ("timer", "loop", "asyncio.sleep ends", None),
        ("step", b, "worker resumes", 5),
        ("callback", "loop", "gather.<locals>._done_callback", None),
        ("step", "cell", "cell resumes", 15),
    ]
    # The fetch, as Tornado's client runs it: the resolver's thread decides the order of its callbacks,
    # and whether the answer is read at once or after a wait for the socket to be readable.
    fetching = callbacks[10:]
    assert fetching[0] == ("step", "loop", "_HTTPConnection.run starts", None)
    for callback in [
        ("io", "loop", "fd N writable: IOStream", None),
        ("callback", "loop", "_Connector.on_connect_done", None),
        ("callback", "loop", "AsyncHTTPClient.fetch.<locals>.handle_response", None),
        ("callback", "loop", "future done: run its callback", None),
        ("step", "cell", "cell resumes", 16),
    ]:
        assert callback in fetching
    assert [(t.name, t.state, t.result) for t in run.tasks] == [(a, "done", "'a'"), (b, "done", "'b'")]
    assert [(r.url, r.status, r.nbytes, r.task) for r in run.requests] == [(demo_url + "/bytes/10", 200, 10, "cell")]
    assert all(e.duration is not None and e.duration >= 0 for e in run.events)


def test_gevent_lines_after_a_return_and_after_a_hot_loop_are_where_the_greenlet_waits(ip, demo_url):
    body = (
        "import gevent\n"
        "\n"
        "def pause():\n"
        "    return 0.01\n"
        "\n"
        "def quick():\n"
        "    gevent.sleep(pause())\n"  # 7: pause() returned before the switch
        "\n"
        "def busy():\n"
        "    total = 0\n"
        "    for i in range(300):\n"
        "        total += i\n"
        "    gevent.sleep(0.05)\n"  # 13: after 600 lines without a switch
        "    return total\n"
        "\n"
        "gevent.joinall([gevent.spawn(quick), gevent.spawn(busy)])\n"  # 16
    )
    run = run_cell(ip, "gevent", body, demo_url)
    waits = [(e.source, e.line) for e in run.events if e.label == "waits"]
    assert waits == [("cell", 16), ("quick()", 7), ("busy()", 13), ("cell", 16)]
