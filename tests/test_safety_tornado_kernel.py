"""What a class types by accident into %%tornado and the magics' options, in a real ipykernel.

Each test is a cell that once hung, killed or misreported in a live kernel
(issue 11); after each, the kernel must still answer plain and magic cells.
"""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.kernel


@pytest.fixture(autouse=True)
def kernel_keeps_answering(kernel):
    yield
    assert kernel.alive()
    assert kernel.ok("1 + 1", timeout=20).value == "2"
    assert kernel.ok("%%tornado\nimport asyncio\nawait asyncio.sleep(0.01)\n'awaited'", timeout=20).value == "'awaited'"


def last_run(kernel, expression):
    return kernel.ok(f"import geventtornado_magics as _g\nprint({expression})").stdout.strip()


@pytest.mark.parametrize("magic", ["gevent", "tornado"])
@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_is_a_usage_error(kernel, magic, timeout):
    reply = kernel.execute(f"%%{magic} --timeout {timeout}\nprint('the cell ran')\n")
    # IPython shows a UsageError on stderr, without a traceback.
    assert reply.status == "error" and "UsageError: argument --timeout" in reply.stderr, reply.text
    assert f"{timeout!r} is not a positive number of seconds" in reply.stderr
    assert f"usage: %%{magic} [" in reply.stderr
    assert "the cell ran" not in reply.stdout and not reply.displays


def test_compare_models_leaves_the_users_urls_and_fetches_their_query_strings(kernel):
    kernel.ok("URLS = [DEMO + '/drip?bytes=500&chunks=1&duration=0'] * 2\nmine = URLS")
    comparison = kernel.ok("comparison = %compare_models --urls URLS\nNone")
    assert comparison.status == "ok"
    assert kernel.ok("URLS is mine and len(URLS) == 2").value == "True"
    fetched = kernel.ok(
        "print({label: sorted((r.url.split('/')[-1], r.status, r.nbytes) for r in run.requests)"
        " for label, run in comparison.runs.items()})"
    ).stdout.strip()
    expected = [("drip?bytes=500&chunks=1&duration=0", 200, 500)] * 2
    assert fetched == str({model: expected for model in ("sequential", "threads", "gevent", "tornado", "asyncio")})
    kernel.ok("del URLS, mine")
    kernel.ok("mine_too = [DEMO + '/delay/0']")
    kernel.ok("%compare_models --urls mine_too --models tornado,asyncio")
    assert kernel.execute("URLS").error["ename"] == "NameError", "a name the user never had stays undefined"


def test_closing_the_ioloop_in_a_cell_ends_start_and_leaves_the_kernels_loop_running(kernel):
    reply = kernel.execute(
        "%%tornado\n"
        "from tornado.ioloop import IOLoop\n"
        "IOLoop.current().call_later(0.2, IOLoop.current().close)\n"
        "IOLoop.current().start()\n"
        "IOLoop.current().close(all_fds=True)\n"
        "'closed'\n",
        timeout=20,
    )
    assert reply.status == "ok", reply.text
    assert reply.value == "'closed'"
    assert reply.finished - reply.started < 5
    text = reply.displays[0]["text/plain"]
    # Once from a timer (no cell line: the loop called it), once from line 4.
    assert "note: IOLoop.close() would have closed the kernel's own loop" in text
    assert "note: Line 4: IOLoop.close() would have closed the kernel's own loop" in text
    assert kernel.ok("from tornado.ioloop import IOLoop\nIOLoop.current().asyncio_loop.is_closed()").value == "False"


def test_stopping_the_asyncio_loop_in_a_cell_is_bridged_like_ioloop_stop(kernel):
    reply = kernel.execute(
        "%%tornado\n"
        "import asyncio\n"
        "from tornado.ioloop import IOLoop\n"
        "loop = asyncio.get_event_loop()\n"
        "loop.call_later(0.2, loop.stop)\n"
        "IOLoop.current().start()\n"
        "asyncio.get_event_loop().stop()\n"
        "'stopped'\n",
        timeout=20,
    )
    assert reply.status == "ok", reply.text
    assert reply.value == "'stopped'"
    text = reply.displays[0]["text/plain"]
    assert "note: loop.stop() would have stopped the kernel's own loop" in text
    assert "note: Line 6: loop.stop() would have stopped the kernel's own loop" in text
    assert kernel.ok("import asyncio\n'stop' in vars(asyncio.get_event_loop())").value == "False"


def test_the_synchronous_http_client_fetches_on_the_kernels_loop(kernel, demo_url):
    reply = kernel.execute(
        "%%tornado\n"
        "from tornado.httpclient import HTTPClient, HTTPClientError\n"
        "client = HTTPClient()\n"
        "responses = [client.fetch(DEMO + '/delay/0.2') for _ in range(2)]\n"
        "try:\n"
        "    client.fetch(DEMO + '/status/404')\n"
        "except HTTPClientError as error:\n"
        "    print('raised', error.code)\n"
        "client.close()\n"
        "[(r.code, r.body) for r in responses]\n",
        timeout=20,
    )
    assert reply.status == "ok", reply.text
    assert reply.value == str([(200, b"delayed 0.2 s\n")] * 2)
    assert reply.stdout == "raised 404\n"
    rows = last_run(kernel, "[(r.url, r.status, r.task) for r in _g.last_run().requests]")
    assert rows == str([(f"{demo_url}/delay/0.2", 200, "cell")] * 2 + [(f"{demo_url}/status/404", 404, "cell")])
    assert "Line 3: HTTPClient().fetch() waited for its response on the kernel's own loop" in reply.displays[0]["text/plain"]


def test_the_synchronous_http_client_in_a_task_is_refused_naming_await(kernel):
    reply = kernel.execute(
        "%%tornado\n"
        "import asyncio\n"
        "from tornado.httpclient import HTTPClient\n"
        "async def main():\n"
        "    return HTTPClient().fetch(DEMO + '/delay/0')\n"
        "await asyncio.ensure_future(main())\n",
        timeout=20,
    )
    assert reply.status == "error" and reply.error["ename"] == "RuntimeError", reply.text
    assert "response = await AsyncHTTPClient().fetch(url)" in reply.error["evalue"]
    assert len(reply.displays) == 1


def test_timers_and_callbacks_left_pending_are_listed_and_never_run_later(kernel):
    reply = kernel.execute(
        "%%tornado\n"
        "import asyncio\n"
        "from tornado.ioloop import IOLoop, PeriodicCallback\n"
        "def tick():\n"
        "    print('tick')\n"
        "ticker = PeriodicCallback(tick, 100)\n"
        "ticker.start()\n"
        "IOLoop.current().call_later(0.3, lambda: print('late'))\n"
        "asyncio.get_running_loop().call_soon(print, 'soon')\n"
        "'left'\n",
        timeout=20,
    )
    assert reply.status == "ok", reply.text
    assert reply.stdout == ""
    text = reply.displays[0]["text/plain"]
    assert "Still pending when the cell's code ended, and cancelled" in text
    assert "PeriodicCallback(tick) every 100 ms (line 3)" in text
    assert "timer <lambda> due in 0.3 s (line 7)" in text
    assert "callback print" in text
    later = kernel.ok("import asyncio\nawait asyncio.sleep(0.6)\nticker.is_running()")
    assert later.value == "False" and later.stdout == ""


SLOW_CLEANUP = """\
%%tornado
import asyncio
async def worker():
    try:
        await asyncio.sleep(10)
    finally:
        print('cleaning up')
        await asyncio.sleep(2)
        print('cleaned up')
async def stubborn():
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            print('ignored')
workers = [asyncio.ensure_future(worker()), asyncio.ensure_future(stubborn())]
await asyncio.sleep(0.1)
'body done'
"""


def test_a_cleanup_that_outlasts_the_grace_is_cut_short_and_reported(kernel):
    reply = kernel.execute(SLOW_CLEANUP, timeout=20)
    assert reply.status == "ok", reply.text
    assert reply.value == "'body done'"
    assert reply.finished - reply.started < 5
    # Cancelled at the end of the cell, then again 1 s later: each time, each task's own words.
    assert sorted(reply.stdout.splitlines()) == ["cleaning up", "ignored", "ignored"]
    assert len(reply.displays) == 1
    tasks = last_run(kernel, "[(t.name, t.state, t.error) for t in _g.last_run().tasks]")
    assert tasks == str([("worker()", "cleanup cut short", None), ("stubborn()", "unfinished", None)])
    text = reply.displays[0]["text/plain"]
    assert "worker(): its cleanup (finally, or except CancelledError) was still awaiting" in text
    assert "stubborn(): unfinished." in text
    later = kernel.ok(
        "import asyncio\nawait asyncio.sleep(2.5)\n[(w.done(), w.get_coro().cr_frame is None) for w in workers]"
    )
    assert later.stdout == "", "nothing of the cell runs in a later cell"
    assert later.value == "[(True, True), (False, True)]", "the stubborn one is closed where it waited"
    kernel.ok("del workers\nimport gc\ngc.collect()")  # the frozen task goes with its last reference


def test_httpx_requests_in_a_cell_are_recorded(kernel, demo_url):
    reply = kernel.execute(
        "%%tornado\n"
        "import asyncio, httpx\n"
        "async with httpx.AsyncClient() as client:\n"
        "    responses = await asyncio.gather(*[client.get(DEMO + '/delay/0.3') for _ in range(3)])\n"
        "    async with client.stream('GET', DEMO + '/bytes/2000') as streamed:\n"
        "        body = await streamed.aread()\n"
        "with httpx.Client() as blocking:\n"
        "    missing = blocking.get(DEMO + '/status/404')\n"
        "[r.status_code for r in responses], len(body), missing.status_code\n",
        timeout=30,
    )
    assert reply.status == "ok", reply.text
    assert reply.value == "([200, 200, 200], 2000, 404)"
    rows = eval(last_run(kernel, "[(r.url, r.status, r.nbytes, r.error, r.start, r.end) for r in _g.last_run().requests]"))
    assert [row[:4] for row in rows] == [(f"{demo_url}/delay/0.3", 200, 14, None)] * 3 + [
        (f"{demo_url}/bytes/2000", 200, 2000, None),
        (f"{demo_url}/status/404", 404, rows[4][2], None),
    ]
    assert max(start for _, _, _, _, start, _ in rows[:3]) < min(end for *_, end in rows[:3]), "the three overlapped"
    headline = reply.displays[0]["text/plain"].splitlines()[0]
    assert headline.startswith("%%tornado: 5 requests in") and "peak 3 at once" in headline
    # The first cell imported httpx (watched from its import on); this one finds it imported.
    again = kernel.ok("%%tornado\nimport httpx\nasync with httpx.AsyncClient() as client:\n    await client.get(DEMO + '/delay/0')\n")
    assert again.displays[0]["text/plain"].startswith("%%tornado: 1 request in")


def test_aiohttp_requests_in_a_cell_are_recorded(kernel, demo_url):
    reply = kernel.execute(
        "%%tornado\n"
        "import asyncio, aiohttp\n"
        "async def get(session, url):\n"
        "    async with session.get(url) as response:\n"
        "        return response.status, len(await response.read())\n"
        "async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2)) as session:\n"
        "    results = await asyncio.gather(*[get(session, DEMO + '/delay/0.3') for _ in range(3)])\n"
        "    results.append(await get(session, DEMO + '/bytes/5000'))\n"
        "results\n",
        timeout=30,
    )
    assert reply.status == "ok", reply.text
    assert reply.value == str([(200, 14)] * 3 + [(200, 5000)])
    rows = eval(last_run(kernel, "[(r.url, r.status, r.nbytes, r.error, r.queued, r.task) for r in _g.last_run().requests]"))
    assert [row[:4] for row in rows] == [(f"{demo_url}/delay/0.3", 200, 14, None)] * 3 + [
        (f"{demo_url}/bytes/5000", 200, 5000, None)
    ]
    # limit=2: the third request waited for a connection, about one request's time.
    assert sorted(queued > 0.2 for *_, queued, _ in rows[:3]) == [False, False, True]
    # Each request on the lane of the task that made it; the last one the cell's own.
    lanes = [re.sub(r"\(.*\)", "", task) for *_, task in rows]
    assert lanes == ["get", "get #2", "get #3", "cell"]
    assert reply.displays[0]["text/plain"].startswith("%%tornado: 4 requests in")


def test_blocking_requests_in_a_cell_and_its_threads_are_recorded(kernel, demo_url):
    reply = kernel.execute(
        "%%tornado\n"
        "import asyncio, urllib.request\n"
        "def get(path):\n"
        "    return len(urllib.request.urlopen(DEMO + path).read())\n"
        "first = get('/bytes/100')\n"
        "more = await asyncio.gather(*[asyncio.to_thread(get, '/delay/0.3') for _ in range(2)])\n"
        "first, more\n",
        timeout=30,
    )
    assert reply.status == "ok", reply.text
    assert reply.value == "(100, [14, 14])"
    rows = eval(last_run(kernel, "[(r.url, r.status, r.nbytes, r.error, r.task) for r in _g.last_run().requests]"))
    assert rows[0] == (f"{demo_url}/bytes/100", 200, 100, None, "cell")
    assert sorted(row[:4] for row in rows[1:]) == [(f"{demo_url}/delay/0.3", 200, 14, None)] * 2
    threads = {row[4] for row in rows[1:]}
    assert len(threads) == 2 and all(name.startswith("asyncio_") for name in threads), threads
    assert reply.displays[0]["text/plain"].startswith("%%tornado: 3 requests in")


def test_requests_no_recorder_sees_are_not_claimed_to_be_none(kernel):
    reply = kernel.ok(
        "%%tornado\n"
        "import asyncio\n"
        "reader, writer = await asyncio.open_connection('127.0.0.1', int(DEMO.rsplit(':', 1)[1]))\n"
        "writer.write(b'GET /bytes/10 HTTP/1.0\\r\\n\\r\\n')\n"
        "answer = await reader.read()\n"
        "writer.close()\n"
        "answer.split()[1]\n",
        timeout=20,
    )
    assert reply.value == "b'200'"
    assert reply.displays[0]["text/plain"].splitlines()[0].endswith(" — no HTTP requests recorded")


def test_ctrl_c_while_leftovers_clean_up_cuts_the_cleanup_and_keeps_the_report(kernel):
    msg_id = kernel.send(
        "%%tornado\n"
        "import asyncio\n"
        "async def worker():\n"
        "    try:\n"
        "        await asyncio.sleep(10)\n"
        "    finally:\n"
        "        await asyncio.sleep(5)\n"
        "        print('cleaned up')\n"
        "w = asyncio.ensure_future(worker())\n"
        "await asyncio.sleep(0.1)\n"
        "print('body done', flush=True)\n"
    )
    started = time.monotonic()
    outputs = []
    for msg in kernel.until_idle(msg_id, deadline=started + 30):
        outputs.append(msg)
        if msg["msg_type"] == "stream" and "body done" in msg["content"]["text"]:
            time.sleep(0.3)  # the cell now waits, up to 1.5 s, for worker()'s cleanup
            kernel.manager.interrupt_kernel()
    took = time.monotonic() - started
    errors = [msg["content"] for msg in outputs if msg["msg_type"] == "error"]
    displays = [msg["content"]["data"]["text/plain"] for msg in outputs if msg["msg_type"] == "display_data"]
    assert [error["ename"] for error in errors] == ["KeyboardInterrupt"]
    assert "their cleanup was cut short" in errors[0]["evalue"]
    assert len(displays) == 1 and "worker()" in displays[0]
    assert took < 10
    tasks = last_run(kernel, "[(t.name, t.state) for t in _g.last_run().tasks]")
    assert tasks == str([("worker()", "cleanup cut short")])
    later = kernel.ok("import asyncio\nawait asyncio.sleep(0.5)\nw.done()")
    assert later.value == "True" and later.stdout == ""
