"""%%gevent in a real ipykernel: the seed's example, and the kernel left as it was."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from .kernel import Kernel

pytestmark = pytest.mark.kernel

ESSAY = """\
%%gevent
import gevent
from gevent import monkey
# patches stdlib (including socket and ssl modules) to cooperate with other greenlets
monkey.patch_all()

import urllib.request

urls = [DEMO + '/delay/0.5', DEMO + '/delay/0.5', DEMO + '/delay/0.5']

def print_head(url):
    print ('Starting %s' % url)
    data = urllib.request.urlopen(url).read()
    print ('%s: %s bytes: %r' % (url, len(data), data[:50]))

jobs = [gevent.spawn(print_head, url) for url in urls]

gevent.joinall(jobs)
"""

#: Prints what a user would check to see the kernel is back to the standard library.
STDLIB_CHECK = """\
import socket, ssl, time, select, selectors, threading, queue, greenlet, _socket
from gevent.monkey import saved
from geventtornado_magics.scope import unrestored
print(socket.socket.__module__, ssl.SSLContext.__module__, time.sleep.__module__,
      select.select.__module__, selectors.DefaultSelector.__module__,
      threading.Thread.__module__, queue.Queue.__module__,
      hasattr(select, 'epoll'), greenlet.gettrace(), dict(saved), unrestored())
"""
STDLIB_OUTPUT = "socket ssl time select selectors threading queue True None {} []"

#: Counts what a leak would grow: file descriptors, threads, live greenlets.
RESOURCES = """\
import os, gc, greenlet, time
time.sleep(0.2)  # let worker threads that were told to stop finish exiting
gc.collect()
print(len(os.listdir('/proc/self/fd')), len(os.listdir('/proc/self/task')),
      sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead))
"""


def last_run(kernel, expression):
    return kernel.ok(f"import geventtornado_magics as _g\nprint({expression})").stdout.strip()


def test_essay_example_runs_concurrently_and_reports_three_requests(kernel, demo_url):
    reply = kernel.execute(ESSAY)
    assert reply.status == "ok", reply.text
    assert reply.stdout.count("Starting ") == 3
    assert reply.stdout.count("12 bytes: b'delayed 0.5 s\\n'") == 3 or reply.stdout.count(" bytes: ") == 3
    assert kernel.requests_overlapped(), "in turn they would take the sum of their delays"

    statuses = last_run(kernel, "[(r.status, r.url, r.error) for r in _g.last_run().requests]")
    assert statuses.count("200") == 3 and f"{demo_url}/delay/0.5" in statuses
    assert "None" in statuses and "Error" not in statuses
    # The report: one display with html and text, a row per request.
    assert len(reply.displays) == 1
    html = reply.html
    assert html.count(">GET /delay/0.5</td>") == 3 and f"to {demo_url}</summary>" in html
    assert "patched for this cell only" in html and "threading" in html
    assert "<svg" in html
    text = reply.displays[0]["text/plain"]
    assert "3 requests (3 ok, 0 failed)" in text


def test_kernel_is_standard_library_again_and_asyncio_and_tornado_work(kernel):
    kernel.ok(ESSAY)
    assert kernel.ok(STDLIB_CHECK).stdout.strip() == STDLIB_OUTPUT
    assert kernel.ok("import asyncio\nawait asyncio.sleep(0.05)\n'awaited'").value == "'awaited'"
    fetched = kernel.ok(
        "from tornado.httpclient import AsyncHTTPClient\n"
        "response = await AsyncHTTPClient().fetch(DEMO + '/delay/0.1')\n"
        "response.code"
    )
    assert fetched.value == "200"


def test_a_later_cell_patches_again(kernel):
    for _ in range(2):
        reply = kernel.ok(ESSAY)
        assert kernel.requests_overlapped(), "in turn they would take the sum of their delays"
        assert "patched for this cell only" in reply.html


def test_switch_trace_names_greenlets_and_cell_lines(kernel):
    kernel.ok(ESSAY)
    out = last_run(
        kernel,
        "sorted({(e.source, e.target, e.line) for e in _g.last_run().events if e.target == 'hub' and e.line})",
    )
    # A fetching greenlet waits at line 12 (`data = urllib.request.urlopen(url).read()`),
    # the cell at line 17 (`gevent.joinall(jobs)`): line 1 follows %%gevent.
    assert "'hub', 12)" in out and "('cell', 'hub', 17)" in out
    assert "print_head('" in out


def test_magics_and_shell_commands_work_inside_the_cell(kernel):
    reply = kernel.ok("%%gevent\n%time y = 1 + 1\n!echo shell-says-hi\ny")
    assert "shell-says-hi" in reply.stdout and "Wall time" in reply.stdout
    assert reply.value == "2"


def test_failures_are_rows_not_crashes(kernel, demo_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    reply = kernel.ok(
        "%%gevent --patch\n"
        "import gevent, urllib.request\n"
        "def get(url):\n"
        "    return urllib.request.urlopen(url, timeout=5).read()\n"
        f"urls = [DEMO + '/status/500', 'http://127.0.0.1:{closed_port}/', DEMO + '/delay/0.2']\n"
        "jobs = [gevent.spawn(get, url) for url in urls]\n"
        "gevent.joinall(jobs)\n"
        "[job.successful() for job in jobs]\n"
    )
    assert reply.value == "[False, False, True]"
    rows = last_run(kernel, "[(r.status, r.error) for r in _g.last_run().requests]")
    assert "(500, None)" in rows
    assert "ConnectionRefusedError" in rows
    assert "(200, None)" in rows
    states = last_run(kernel, "[(t.state, t.error) for t in _g.last_run().tasks]")
    assert states.count("'failed'") == 2 and "HTTPError" in states and "URLError" in states
    assert "2 failed" in reply.displays[0]["text/plain"]


def test_without_patching_greenlets_run_one_after_another(kernel):
    reply = kernel.ok(
        "%%gevent\n"
        "import gevent, urllib.request\n"
        "jobs = [gevent.spawn(urllib.request.urlopen, DEMO + '/delay/0.3') for _ in range(3)]\n"
        "gevent.joinall(jobs)\n"
    )
    assert reply.finished - reply.started >= 0.9
    assert "Nothing was monkey-patched" in reply.html


def test_timeout_kills_the_greenlets_and_shows_the_partial_report(kernel):
    reply = kernel.execute(
        "%%gevent --patch --timeout 0.5\n"
        "import gevent, urllib.request\n"
        "jobs = [gevent.spawn(urllib.request.urlopen, DEMO + '/delay/0.1')]\n"
        "jobs += [gevent.spawn(urllib.request.urlopen, DEMO + '/delay/5') for _ in range(2)]\n"
        "gevent.joinall(jobs)\n"
    )
    assert reply.status == "error" and reply.error["ename"] == "CellTimeout"
    assert reply.finished - reply.started < 4, "well before the 5 s requests end"
    assert "--timeout 0.5" in reply.html
    states = last_run(kernel, "sorted(t.state for t in _g.last_run().tasks)")
    assert states == "['done', 'killed', 'killed']"
    assert kernel.ok(STDLIB_CHECK).stdout.strip() == STDLIB_OUTPUT


def test_ctrl_c_interrupts_the_cell_and_the_next_cell_runs(kernel):
    reply = kernel.execute(
        "%%gevent --patch\n"
        "import gevent, urllib.request\n"
        "jobs = [gevent.spawn(urllib.request.urlopen, DEMO + '/delay/10') for _ in range(3)]\n"
        "gevent.joinall(jobs)\n",
        interrupt_after=1.0,
        timeout=30,
    )
    assert reply.status == "error" and reply.error["ename"] == "KeyboardInterrupt"
    assert reply.finished - reply.started < 6, "well before the 10 s requests end"
    assert len(reply.displays) == 1
    assert "KeyboardInterrupt" not in reply.stderr, "no gevent block with a timestamp above the report"
    states = last_run(kernel, "sorted(t.state for t in _g.last_run().tasks)")
    assert states == "['killed', 'killed', 'killed']"
    assert kernel.ok(STDLIB_CHECK).stdout.strip() == STDLIB_OUTPUT
    assert kernel.ok("1 + 1").value == "2"


def test_greenlets_left_running_are_killed_and_listed(kernel):
    reply = kernel.ok("%%gevent\nimport gevent\nforgotten = gevent.spawn(gevent.sleep, 30)\n'spawned'")
    assert reply.value == "'spawned'"
    assert "killed" in reply.displays[0]["text/plain"]
    assert kernel.ok("forgotten.dead").value == "True"


def test_requests_library_is_recorded_and_concurrent(kernel):
    reply = kernel.ok(
        "%%gevent --patch\n"
        "import gevent, requests\n"
        "jobs = [gevent.spawn(requests.get, DEMO + '/delay/0.5') for _ in range(3)]\n"
        "gevent.joinall(jobs)\n"
        "[job.value.status_code for job in jobs]\n"
    )
    assert reply.value == "[200, 200, 200]"
    assert kernel.requests_overlapped(), "in turn they would take the sum of their delays"
    rows = last_run(kernel, "[(r.method, r.status, r.nbytes) for r in _g.last_run().requests]")
    assert rows.count("('GET', 200, ") == 3


def test_programmatic_run_cell_magic(kernel):
    reply = kernel.ok(
        "body = ESSAY_BODY\n"
        "get_ipython().run_cell_magic('gevent', '', body)\n"
        "import geventtornado_magics as _g\n"
        "[r.status for r in _g.last_run().requests]".replace(
            "ESSAY_BODY", repr(ESSAY.split("\n", 1)[1])
        )
    )
    assert reply.value == "[200, 200, 200]"
    assert reply.stdout.count("Starting ") == 3


def test_background_thread_with_blocking_sockets_keeps_working(kernel):
    kernel.ok(
        "import threading, urllib.request\n"
        "fetched, failures, stop = [], [], threading.Event()\n"
        "def fetch_forever():\n"
        "    while not stop.is_set():\n"
        "        try:\n"
        "            fetched.append(urllib.request.urlopen(DEMO + '/delay/0.05').status)\n"
        "        except Exception as exc:\n"
        "            failures.append(repr(exc))\n"
        "worker = threading.Thread(target=fetch_forever, daemon=True)\n"
        "worker.start()\n"
    )
    kernel.ok(ESSAY)
    out = kernel.ok(
        "before = len(fetched)\nimport time; time.sleep(0.3)\n"
        "stop.set(); worker.join(5)\nprint(before > 3, len(fetched) > before, failures)"
    ).stdout
    assert out.strip() == "True True []"


def test_a_hundred_cells_leave_nothing_behind(kernel):
    kernel.ok(ESSAY.replace("/delay/0.5", "/delay/0"))  # warm-up: the hub exists from here on
    before = kernel.ok(RESOURCES).stdout
    for _ in range(100):
        kernel.ok(ESSAY.replace("/delay/0.5", "/delay/0"))
    after = kernel.ok(RESOURCES).stdout
    assert after == before
    assert kernel.ok(STDLIB_CHECK).stdout.strip() == STDLIB_OUTPUT



# -- Ctrl-C, cleanup and leftovers: the kernel stays alive and the record stays true ------------

#: Four greenlets switching through the hub as fast as they can, for at most 8 s.
SPINNING = """\
%%gevent
import gevent, time
def spin():
    end = time.monotonic() + 8
    while time.monotonic() < end:
        gevent.sleep(0)
gevent.joinall([gevent.spawn(spin) for _ in range(4)])
"""

#: Greenlets left running whose cleanup (``finally:``) takes 5 s.
SLOW_CLEANUP = """\
import gevent
def worker():
    try:
        gevent.sleep(30)
    finally:
        gevent.sleep(5)
        print('cleaned up')
"""


def test_ctrl_c_lands_in_a_cell_that_switches_a_lot(kernel):
    # The tracer runs on every switch: a Ctrl-C often lands inside it, and must not stop there.
    for attempt in range(5):
        reply = kernel.execute(SPINNING, interrupt_after=1.0, timeout=30)
        assert reply.status == "error" and reply.error["ename"] == "KeyboardInterrupt", f"attempt {attempt}"
        assert reply.finished - reply.started < 6, "long before the 8 s of spinning end"
        assert len(reply.displays) == 1
        assert last_run(kernel, "sorted({t.state for t in _g.last_run().tasks})") == "['killed']"
    assert kernel.ok(STDLIB_CHECK).stdout.strip() == STDLIB_OUTPUT


def test_slow_cleanup_of_a_leftover_is_cut_short_and_the_report_appears(kernel):
    reply = kernel.execute(f"%%gevent\n{SLOW_CLEANUP}g = gevent.spawn(worker)\ngevent.sleep(0.1)\n'body done'")
    assert reply.status == "ok", reply.text
    assert reply.value == "'body done'"
    assert reply.finished - reply.started < 4, "the 5 s cleanup was not waited for"
    text = reply.displays[0]["text/plain"]
    assert "cleanup cut short" in text and "were killed again, which cut their cleanup short" in text
    assert last_run(kernel, "[t.state for t in _g.last_run().tasks]") == "['cleanup cut short']"
    assert kernel.ok("g.dead").value == "True"
    later = kernel.ok("%%gevent\nimport gevent\ngevent.sleep(6)\n'later'", timeout=30)
    assert "cleaned up" not in later.stdout, "nothing of the earlier cell runs inside a later one"
    assert last_run(kernel, "(len(_g.last_run().events), len(_g.last_run().tasks))") == "(2, 0)"  # its own sleep: cell waits, hub resumes it


def test_a_second_ctrl_c_during_cleanup_still_gives_the_report(kernel):
    msg_id = kernel.send(
        f"%%gevent\n{SLOW_CLEANUP}workers = [gevent.spawn(worker) for _ in range(3)]\ngevent.sleep(30)\n"
    )
    started = time.monotonic()
    time.sleep(1.0)
    kernel.manager.interrupt_kernel()  # the cell stops; its workers start their 5 s cleanup
    time.sleep(0.5)
    kernel.manager.interrupt_kernel()  # again, while the cell waits for them
    outputs = list(kernel.until_idle(msg_id, deadline=started + 30))
    reply = kernel.shell_reply(msg_id)["content"]
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 10, "far less than the cleanup's 5 s on top of the wait"
    assert [m["msg_type"] for m in outputs].count("display_data") == 1, "the report appeared"
    states = last_run(kernel, "[t.state for t in _g.last_run().tasks]")
    assert states == str(["cleanup cut short"] * 3)
    assert kernel.ok("[w.dead for w in workers]").value == "[True, True, True]"
    later = kernel.ok("%%gevent\nimport gevent\ngevent.sleep(6)\n'later'", timeout=30)
    assert "cleaned up" not in later.stdout and later.value == "'later'"
    assert last_run(kernel, "(len(_g.last_run().events), len(_g.last_run().tasks))") == "(2, 0)"  # its own sleep: cell waits, hub resumes it
    assert kernel.ok(STDLIB_CHECK).stdout.strip() == STDLIB_OUTPUT


def test_the_first_gevent_cell_nested_in_a_tornado_cell_leaves_gevent_whole():
    fresh = Kernel()  # gevent's hub is made by the first %%gevent cell a kernel runs: this one
    try:
        fresh.ok("%load_ext geventtornado_magics")
        nested = fresh.ok(
            "%%tornado\nget_ipython().run_cell_magic('gevent', '', 'import gevent\\ngevent.sleep(0.05)\\n6 * 7')"
        )
        assert "%%gevent" in nested.text
        for _ in range(2):
            reply = fresh.ok(
                "%%gevent\nimport gevent\njobs = [gevent.spawn(gevent.sleep, 0.05) for _ in range(3)]\n"
                "gevent.wait()\n[job.dead for job in jobs]"
            )
            assert reply.value == "[True, True, True]"
    finally:
        fresh.shutdown()


# -- the record stays true: requests that fail early or late, and requests from threads ------------


@pytest.fixture(scope="module")
def cut_short_url():
    """A loopback server that promises a 100-byte body, sends 10 bytes, and closes the connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed: the module's tests are done
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    server.close()


@pytest.mark.parametrize(
    "fetch",
    ["urllib.request.urlopen(CUT).read()", "requests.get(CUT).content"],
    ids=["urllib", "requests"],
)
def test_a_body_cut_short_is_a_failed_request(kernel, cut_short_url, fetch):
    reply = kernel.execute(f"%%gevent --patch\nimport urllib.request, requests\nCUT = {cut_short_url!r}\n{fetch}\n")
    assert reply.status == "error"
    rows = last_run(kernel, "[(r.status, r.error, r.end is not None) for r in _g.last_run().requests]")
    assert rows == "[(200, 'IncompleteRead(10 bytes read, 90 more expected)', True)]"
    assert "1 request (0 ok, 1 failed)" in reply.displays[0]["text/plain"]


@pytest.mark.parametrize(
    "path, error",
    [("/delay/0 x", "InvalidURL: URL can't contain control characters."), ("/délai", "UnicodeEncodeError: 'ascii'")],
    ids=["space", "non-ascii"],
)
def test_a_request_refused_before_it_is_sent_is_a_failed_row(kernel, path, error):
    reply = kernel.execute(f"%%gevent --patch\nimport urllib.request\nurllib.request.urlopen(DEMO + {path!r})\n")
    assert reply.status == "error"
    rows = eval(last_run(kernel, "[(r.status, r.error, r.end) for r in _g.last_run().requests]"))
    [(status, got, end)] = rows
    assert status is None and got.startswith(error) and end is not None, "failed, not open for ever"
    assert "1 request (0 ok, 1 failed)" in reply.displays[0]["text/plain"]


def test_requests_from_threads_are_recorded_on_lanes_named_after_them(kernel):
    kernel.ok(
        "import urllib.request\nfrom concurrent.futures import ThreadPoolExecutor\n"
        "fetch = lambda url: urllib.request.urlopen(url).read()\n"
        "earlier = ThreadPoolExecutor(1, thread_name_prefix='earlier')\n"
        "earlier.submit(fetch, DEMO + '/delay/0').result()\n"  # its thread runs from here on
    )
    reply = kernel.ok(
        "%%gevent --patch\n"
        "import threading\n"
        "worker = threading.Thread(target=fetch, args=(DEMO + '/delay/0.2',), name='fetcher')\n"
        "worker.start()\n"
        "with ThreadPoolExecutor(2, thread_name_prefix='pool') as pool:\n"
        "    list(pool.map(fetch, [DEMO + '/delay/0.2'] * 2))\n"
        "earlier.submit(fetch, DEMO + '/delay/0.2').result()\n"
        "worker.join()\n"
    )
    text = reply.displays[0]["text/plain"]
    assert "no HTTP requests" not in text and "4 requests (4 ok, 0 failed)" in text
    rows = last_run(kernel, "sorted((r.task, r.status) for r in _g.last_run().requests)")
    assert rows == str(
        [("earlier_0 (from before the cell)", 200), ("fetcher", 200), ("pool_0", 200), ("pool_1", 200)]
    )
    kernel.ok("earlier.shutdown()")
