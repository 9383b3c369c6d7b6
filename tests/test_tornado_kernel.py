"""%%tornado in a real ipykernel: the seed's example, script-era Tornado, and the kernel left as it was."""

from __future__ import annotations

import re
import socket
import time
from importlib import metadata

import pytest

pytestmark = pytest.mark.kernel

#: Before ipykernel 7.4 the kernel handles shell messages one after another: a comm message waits
#: for the running cell, whatever the cell does.
KERNEL_SERVES_COMMS_DURING_A_CELL = tuple(int(part) for part in metadata.version("ipykernel").split(".")[:2]) >= (7, 4)

#: The essay's Tornado example, as written (Python 3 prints), fetching from the demo server.
ESSAY = """\
%%tornado
from tornado import ioloop
from tornado.httpclient import AsyncHTTPClient

urls = [DEMO + '/delay/0.5', DEMO + '/delay/0.5', DEMO + '/delay/0.5']

def print_head(response):
    print ('%s: %s bytes: %r' % (response.request.url,
                                 len(response.body),
                                 response.body[:50]))

http_client = AsyncHTTPClient()
for url in urls:
    print ('Starting %s' % url)
    http_client.fetch(url, print_head)

ioloop.IOLoop.instance().start()
"""

#: Defines, in the kernel, what a user would check to see that no %%tornado cell left anything behind.
LEFTOVERS = """\
def _gtm_leftovers(baseline_tasks):
    import asyncio
    from geventtornado_magics.scope import unrestored
    from geventtornado_magics.tornado_cell.work import CELL
    loop = asyncio.get_running_loop()
    problems = unrestored()
    marked = [h for h in [*loop._ready, *loop._scheduled] if not h._cancelled and h._context.get(CELL) is not None]
    problems += [f'handle left: {h}' for h in marked]
    tasks = sorted(t.get_coro().__qualname__ for t in asyncio.all_tasks() if t is not asyncio.current_task())
    if tasks != baseline_tasks:
        problems.append(f'tasks {tasks} != {baseline_tasks}')
    if CELL.get() is not None:
        problems.append('the cell marker is still set')
    return problems
import asyncio as _asyncio
_gtm_baseline = sorted(t.get_coro().__qualname__ for t in _asyncio.all_tasks() if t is not _asyncio.current_task())
"""

#: Counts what a leak would grow: file descriptors and threads.
RESOURCES = """\
import os, gc, threading, time
time.sleep(0.2)  # let connections the server closes be closed on our side too
gc.collect()
print(len(os.listdir('/proc/self/fd')), threading.active_count())
"""


@pytest.fixture(scope="module", autouse=True)
def leftovers_check(kernel):
    kernel.ok(LEFTOVERS)


@pytest.fixture(autouse=True)
def kernel_is_left_as_it_was(kernel):
    """After each test: the kernel answers, awaits in a plain cell, and holds nothing of the magic's."""
    yield
    assert kernel.alive()
    assert kernel.ok("import asyncio\nawait asyncio.sleep(0.01)\n'awaited'", timeout=10).value == "'awaited'"
    assert kernel.ok("_gtm_leftovers(_gtm_baseline)").value == "[]"


def last_run(kernel, expression):
    return kernel.ok(f"import geventtornado_magics as _g\nprint({expression})").stdout.strip()


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def peak_in_flight(rows) -> int:
    """The most requests open at once, from ``(start, end, queued)`` rows."""
    edges = sorted([(start, 1) for start, _, _ in rows] + [(end, -1) for _, end, _ in rows])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_essay_example_calls_back_three_times_concurrently(kernel, demo_url):
    reply = kernel.execute(ESSAY)
    assert reply.status == "ok", reply.text
    assert reply.stdout.count("Starting ") == 3
    assert reply.stdout.count(f"{demo_url}/delay/0.5: 14 bytes: b'delayed 0.5 s\\n'") == 3
    assert kernel.requests_overlapped(), "in turn they would take the sum of their delays"

    assert len(reply.displays) == 1
    assert reply.html.count(">GET /delay/0.5</td>") == 3 and f"to {demo_url}</summary>" in reply.html
    text = reply.displays[0]["text/plain"]
    assert "fetch(url, print_head) used the callback argument Tornado 6 removed" in text
    assert "response = await http_client.fetch(url)" in text
    statuses = last_run(kernel, "[(r.status, r.task, r.error) for r in _g.last_run().requests]")
    assert statuses == str([(200, "cell", None)] * 3)


def test_callbacks_are_traced_with_their_cell_lines(kernel):
    kernel.ok(ESSAY)
    events = last_run(kernel, "sorted({(e.kind, e.source, e.label, e.line) for e in _g.last_run().events if e.line})")
    # print_head runs as a callback (line 6 defines it); the cell resumes at line 16, `...start()`.
    assert "('callback', 'loop', 'print_head', 6)" in events
    assert "('step', 'cell', 'cell resumes', 16)" in events
    kinds = last_run(kernel, "sorted({e.kind for e in _g.last_run().events})")
    assert kinds == "['callback', 'io', 'step']"
    timer = kernel.ok("%%tornado\nfrom tornado import gen\nawait gen.sleep(0.05)\n")
    assert "gen.sleep ends" in timer.displays[0]["text/plain"]


def test_gather_of_five_fetches_runs_them_together(kernel):
    reply = kernel.ok(
        "%%tornado\n"
        "import asyncio\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "async def get(i):\n"
        "    response = await AsyncHTTPClient().fetch(DEMO + '/delay/0.5')\n"
        "    return response.code\n"
        "await asyncio.gather(*[get(i) for i in range(5)])\n"
    )
    assert reply.value == "[200, 200, 200, 200, 200]"
    assert kernel.requests_overlapped(), "in turn they would take the sum of their delays"
    tasks = last_run(kernel, "[(t.name, t.state, t.result, t.spawned_by) for t in _g.last_run().tasks]")
    assert tasks == str([(f"get({i})", "done", "200", "cell") for i in range(5)])
    lanes = last_run(kernel, "sorted({r.task for r in _g.last_run().requests})")
    assert lanes == str([f"get({i})" for i in range(5)])


def test_gen_coroutine_crawler_with_a_queue_and_run_sync(kernel, demo_url):
    reply = kernel.ok(
        "%%tornado\n"
        "import re\n"
        "from tornado import gen, ioloop, queues\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "\n"
        "@gen.coroutine\n"
        "def crawl(start, concurrency=3):\n"
        "    q, seen = queues.Queue(), {start}\n"
        "    q.put(start)\n"
        "\n"
        "    @gen.coroutine\n"
        "    def worker():\n"
        "        while True:\n"
        "            url = yield q.get()\n"
        "            try:\n"
        "                response = yield AsyncHTTPClient().fetch(url)\n"
        "                for link in re.findall(r'href=\"([^\"]+)\"', response.body.decode()):\n"
        "                    if DEMO + link not in seen:\n"
        "                        seen.add(DEMO + link)\n"
        "                        q.put(DEMO + link)\n"
        "            finally:\n"
        "                q.task_done()\n"
        "\n"
        "    for _ in range(concurrency):\n"
        "        worker()\n"
        "    yield q.join()\n"
        "    return len(seen)\n"
        "\n"
        "ioloop.IOLoop.current().run_sync(lambda: crawl(DEMO + '/links/20/0?delay=0.05'))\n"
    )
    assert reply.value == "20"
    urls = last_run(kernel, "sorted({r.url for r in _g.last_run().requests})")
    assert urls.count(f"{demo_url}/links/20/") == 20
    tasks = last_run(kernel, "[(t.name.split('(')[0], t.state) for t in _g.last_run().tasks]")
    # The workers loop forever, as in Tornado's web spider demo: the end of the cell cancels them.
    worker = "crawl.<locals>.worker"
    assert tasks == str([(worker, "cancelled")] * 3 + [("crawl", "done")])
    steps = last_run(
        kernel, "sorted({(e.source, e.line) for e in _g.last_run().events if e.kind == 'step' and 'worker' in e.source})"
    )
    assert "('crawl.<locals>.worker()', 13)" in steps  # resumed at `url = yield q.get()`
    assert "('crawl.<locals>.worker()', 15)" in steps  # resumed at `response = yield ...fetch(url)`


def test_a_hundred_fetches_wait_for_max_clients_and_the_report_says_so(kernel):
    reply = kernel.ok(
        "%%tornado\n"
        "from tornado import gen\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "client = AsyncHTTPClient()\n"
        "responses = await gen.multi([client.fetch(DEMO + '/delay/0.1') for _ in range(100)])\n"
        "len(responses)\n",
        timeout=30,
    )
    assert reply.value == "100"
    assert 0.9 < reply.finished - reply.started < 6, "ten at a time: ten rounds of 0.1 s, not a hundred"
    rows = eval(last_run(kernel, "[(r.start, r.end, r.queued) for r in _g.last_run().requests]"))
    assert sum(queued > 0 for _, _, queued in rows) == 90
    assert max(queued for _, _, queued in rows) > 0.7
    start, end, queued = max(rows, key=lambda row: row[2])
    assert end - start < queued, "a request's own time leaves out the queue"
    assert peak_in_flight(rows) == 10
    text = reply.displays[0]["text/plain"]
    assert "90 of 100 requests waited" in text and "max_clients=10" in text
    assert "AsyncHTTPClient(force_instance=True, max_clients=100)" in text


def test_max_clients_passed_to_the_shared_client_is_flagged(kernel):
    kernel.ok("%%tornado\nfrom tornado.httpclient import AsyncHTTPClient\nAsyncHTTPClient()")
    reply = kernel.ok(
        "%%tornado\nfrom tornado.httpclient import AsyncHTTPClient\n"
        "client = AsyncHTTPClient(max_clients=50)\nclient.max_clients"
    )
    assert reply.value == "10"
    text = reply.displays[0]["text/plain"]
    assert "Line 2: AsyncHTTPClient(max_clients=50) returned this loop's existing client" in text
    assert "force_instance=True" in text


def test_refused_connections_are_rows_with_and_without_raise_error(kernel):
    dead = f"http://127.0.0.1:{closed_port()}/"
    for raise_error in ("True", "False"):
        reply = kernel.execute(
            "%%tornado\nfrom tornado.httpclient import AsyncHTTPClient\n"
            f"response = await AsyncHTTPClient().fetch({dead!r}, raise_error={raise_error})\n"
        )
        # raise_error=False only spares HTTP error statuses, as Tornado 6 documents.
        assert reply.status == "error" and reply.error["ename"] == "ConnectionRefusedError"
        assert len(reply.displays) == 1
        rows = last_run(kernel, "[(r.status, r.error) for r in _g.last_run().requests]")
        assert rows == "[(None, 'ConnectionRefusedError: [Errno 111] Connection refused')]"

    reply = kernel.ok(
        "%%tornado\nfrom tornado.httpclient import AsyncHTTPClient\nfrom tornado.ioloop import IOLoop\n"
        f"AsyncHTTPClient().fetch({dead!r}, lambda response: print(response.code, response.error))\n"
        "IOLoop.current().start()\n"
    )
    assert reply.stdout.strip() == "599 [Errno 111] Connection refused"
    assert reply.finished - reply.started < 10, "a dead request is no work to wait for"


def test_error_statuses_are_rows_and_a_callbacks_exception_is_shown(kernel):
    reply = kernel.ok(
        "%%tornado\nfrom tornado.httpclient import AsyncHTTPClient\nfrom tornado.ioloop import IOLoop\n"
        "def on_response(response):\n"
        "    print('status', response.code)\n"
        "    raise ValueError('callback failed')\n"
        "AsyncHTTPClient().fetch(DEMO + '/status/503', on_response)\n"
        "IOLoop.current().start()\n"
    )
    assert reply.stdout.strip() == "status 503"
    assert "Exception in callback on_response(response)" in reply.stderr
    assert "ValueError: callback failed" in reply.stderr
    assert "line 5, in on_response" in reply.stderr
    rows = last_run(kernel, "[(r.status, r.ok, r.error) for r in _g.last_run().requests]")
    assert rows == "[(503, False, None)]"


def test_timeout_cancels_tasks_and_fetches_and_shows_the_partial_report(kernel):
    reply = kernel.execute(
        "%%tornado --timeout 0.5\n"
        "import asyncio\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "client = AsyncHTTPClient()\n"
        "quick = await client.fetch(DEMO + '/delay/0.1')\n"
        "slow = asyncio.ensure_future(client.fetch(DEMO + '/delay/5'))\n"
        "await asyncio.sleep(5)\n"
    )
    assert reply.status == "error" and reply.error["ename"] == "CellTimeout"
    assert reply.finished - reply.started < 4, "well before the 5 s sleep ends"
    assert "----> 6 await asyncio.sleep(5)" in plain(reply.traceback)
    assert len(reply.displays) == 1 and "--timeout 0.5" in reply.html
    rows = last_run(kernel, "[(r.status, r.error) for r in _g.last_run().requests]")
    assert rows == "[(200, None), (None, 'cancelled: --timeout')]"
    assert kernel.ok("slow.cancelled()").value == "True"


def test_ctrl_c_interrupts_the_cell_and_the_next_cell_runs(kernel):
    reply = kernel.execute(
        "%%tornado\n"
        "from tornado import ioloop\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "for _ in range(3):\n"
        "    AsyncHTTPClient().fetch(DEMO + '/delay/10', print)\n"
        "ioloop.IOLoop.current().start()\n",
        interrupt_after=1.0,
        timeout=30,
    )
    assert reply.status == "error" and reply.error["ename"] == "KeyboardInterrupt"
    assert reply.finished - reply.started < 6, "well before the 10 s requests end"
    assert "----> 5 ioloop.IOLoop.current().start()" in plain(reply.traceback)
    assert len(reply.displays) == 1
    rows = last_run(kernel, "[r.error for r in _g.last_run().requests]")
    assert rows == str(["cancelled: interrupted"] * 3)
    assert reply.stdout == "", "interrupted requests call no callback"
    assert kernel.ok("1 + 1").value == "2"


def test_a_second_ctrl_c_stops_a_cell_blocked_in_plain_python(kernel):
    msg_id = kernel.send("%%tornado\nimport time\ntime.sleep(20)\n")
    started = time.monotonic()
    time.sleep(0.5)
    kernel.manager.interrupt_kernel()  # the loop is held by time.sleep: it cannot act on this one
    time.sleep(0.5)
    kernel.manager.interrupt_kernel()
    reply = kernel.shell_reply(msg_id, timeout=15)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 10, "far less than the 20 s sleep"
    assert "----> 2 time.sleep(20)" in plain("\n".join(reply["content"]["traceback"]))
    assert kernel.ok("1 + 1").value == "2"


def test_run_sync_never_stops_the_kernels_loop(kernel):
    reply = kernel.ok(
        "%%tornado\n"
        "import asyncio\n"
        "from tornado.ioloop import IOLoop\n"
        "async def main(fail=False):\n"
        "    await asyncio.sleep(0.3)\n"
        "    if fail:\n"
        "        raise RuntimeError('main failed')\n"
        "    return 'done'\n"
        "for call in (lambda: main(), lambda: main(fail=True)):\n"
        "    try:\n"
        "        print(IOLoop.current().run_sync(call, timeout=0.1))\n"
        "    except TimeoutError as error:\n"
        "        print('TimeoutError', error)\n"
        "try:\n"
        "    IOLoop.current().run_sync(lambda: main(fail=True))\n"
        "except RuntimeError as error:\n"
        "    print('RuntimeError', error)\n"
        "IOLoop.current().run_sync(main)\n"
    )
    assert reply.stdout.splitlines() == [
        "TimeoutError Operation timed out after 0.1 seconds",
        "TimeoutError Operation timed out after 0.1 seconds",
        "RuntimeError main failed",
    ]
    assert reply.value == "'done'"
    assert "which here would have stopped the kernel" in reply.displays[0]["text/plain"]
    time.sleep(2)  # Tornado's own run_sync would have stopped the loop by now
    assert kernel.alive()
    assert kernel.ok("1 + 1", timeout=10).value == "2"


def test_blocking_outside_the_cells_own_code_raises_like_tornado(kernel):
    reply = kernel.ok(
        "%%tornado\nimport asyncio\nfrom tornado.ioloop import IOLoop\n"
        "async def inner():\n"
        "    IOLoop.current().start()\n"
        "try:\n"
        "    await asyncio.ensure_future(inner())\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    assert "can only block the cell's own code" in reply.stdout
    assert kernel.ok("1 + 1").value == "2"


def test_stop_ends_start_and_leftover_timers_are_cancelled(kernel):
    reply = kernel.ok(
        "%%tornado\n"
        "from tornado.ioloop import IOLoop, PeriodicCallback\n"
        "ticks = []\n"
        "ticker = PeriodicCallback(lambda: ticks.append(1), 50)\n"
        "ticker.start()\n"
        "IOLoop.current().call_later(0.3, IOLoop.current().stop)\n"
        "IOLoop.current().start()\n"
        "len(ticks)\n"
    )
    assert int(reply.value) >= 4
    assert reply.finished - reply.started < 5, "stop() ended start(); the ticker alone would run for ever"
    assert kernel.ok("import time\ntime.sleep(0.2)\nlen(ticks)").value == reply.value


def test_programmatic_run_cell_magic_runs_the_essay_from_a_plain_cell(kernel):
    body = ESSAY.split("\n", 1)[1]
    reply = kernel.ok(
        f"value = get_ipython().run_cell_magic('tornado', '', {body + '6 * 7'!r})\n"
        "import geventtornado_magics as _g\n"
        "(value, [r.status for r in _g.last_run().requests])\n"
    )
    assert reply.value == "(42, [200, 200, 200])"
    assert reply.stdout.count("Starting ") == 3 and reply.stdout.count("14 bytes") == 3
    assert kernel.requests_overlapped(), "in turn they would take the sum of their delays"
    awaited = kernel.ok("get_ipython().run_cell_magic('tornado', '', 'import asyncio\\nawait asyncio.sleep(0.05)\\n5')")
    assert awaited.value == "5"


def test_ctrl_c_during_a_programmatic_call(kernel):
    reply = kernel.execute(
        "get_ipython().run_cell_magic('tornado', '', "
        "'from tornado.httpclient import AsyncHTTPClient\\n"
        "from tornado.ioloop import IOLoop\\n"
        "IOLoop.current().run_sync(lambda: AsyncHTTPClient().fetch(DEMO + \"/delay/10\"))')",
        interrupt_after=1.0,
        timeout=30,
    )
    assert reply.status == "error" and reply.error["ename"] == "KeyboardInterrupt"
    assert reply.finished - reply.started < 6, "well before the 10 s requests end"
    assert len(reply.displays) == 1


@pytest.mark.skipif(not KERNEL_SERVES_COMMS_DURING_A_CELL, reason="ipykernel < 7.4 serves comms only between cells")
def test_the_kernel_serves_comms_while_a_cell_runs(kernel):
    kernel.ok(
        "def _echo(comm, open_msg):\n"
        "    comm.on_msg(lambda msg: comm.send({'echo': msg['content']['data']}))\n"
        "get_ipython().kernel.comm_manager.register_target('gtm_echo', _echo)\n"
    )
    client = kernel.client
    msg_id = kernel.send("%%tornado\nfrom tornado import gen\nawait gen.sleep(3)\n")
    time.sleep(0.3)
    sent = time.monotonic()
    for kind, content in (
        ("comm_open", {"comm_id": "gtm-echo", "target_name": "gtm_echo", "data": {}}),
        ("comm_msg", {"comm_id": "gtm-echo", "data": {"x": 42}}),
    ):
        client.session.send(client.shell_channel.socket, client.session.msg(kind, content))
    echoed = idle = None
    for msg in kernel.iopub(deadline=sent + 30):
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == "gtm-echo":
            echoed = time.monotonic() - sent
        elif msg["parent_header"].get("msg_id") == msg_id and msg["content"].get("execution_state") == "idle":
            idle = time.monotonic() - sent
            break
    kernel.shell_reply(msg_id)
    assert echoed is not None and echoed < idle, "the echo came while the cell was still running"


def test_a_hundred_cells_leave_no_descriptor_or_thread_behind(kernel):
    cell = ESSAY.replace("/delay/0.5", "/delay/0")
    kernel.ok(cell)  # warm-up: the shared client and the resolver's worker threads exist from here on
    before = kernel.ok(RESOURCES).stdout
    for _ in range(100):
        kernel.ok(cell)
    assert kernel.ok(RESOURCES).stdout == before
