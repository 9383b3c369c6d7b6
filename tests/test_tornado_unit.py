"""%%tornado on IPython's in-process shell, and its parts on a small event loop of their own."""

from __future__ import annotations

import asyncio
import contextvars
import io
import time

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from tornado import gen
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.ioloop import IOLoop

import geventtornado_magics
from geventtornado_magics.tornado_cell import transformer
from geventtornado_magics.tornado_cell.work import CellWork, TornadoScope, running_cell
from geventtornado_magics.tornado_cell.reentry import run_until_complete
from geventtornado_magics.tornado_cell.tasks import CellTasks, coroutine_label
from geventtornado_magics.tornado_cell.callbacks import LoopCallbacks
from geventtornado_magics.tornado_cell.http import TornadoHttpRecorder
from geventtornado_magics.scope import Limits, unrestored
from geventtornado_magics.tornado_cell.portal import Portal, await_, in_portal

from .cells import magic_cell


def tornado_cell(ip, body, options=""):
    return magic_cell(ip, "tornado", body, options)


# -- the magic ---------------------------------------------------------------


def test_help_lists_the_options_and_teaches(ip):
    doc = ip.find_cell_magic("tornado").__doc__
    for text in ("--timeout SECONDS", "--no-trace", "IOLoop.current().start()", "run_sync", "fetch(url, callback)"):
        assert text in doc


def test_a_tornado_cell_becomes_an_awaited_call(ip):
    transformed = ip.transform_cell("%%tornado --timeout 2\nx = 1\n")
    assert transformed == (
        "await get_ipython().magics_manager.registry['GeventTornadoMagics']"
        ".run_tornado('--timeout 2', 'x = 1\\n')\n"
    )
    assert ip.transform_cell("%%tornado\nx = 1;\n").endswith(";\n")
    # Help, and other cell magics, stay IPython's.
    assert ip.transform_cell("%%tornado?\n") == "get_ipython().run_line_magic('pinfo', '%%tornado')\n"
    assert ip.transform_cell("%%gevent\nx = 1\n") == "get_ipython().run_cell_magic('gevent', '', 'x = 1\\n')\n"


def test_without_autoawait_the_magic_runs_the_cell_itself(ip):
    ip.autoawait = False
    try:
        assert ip.transform_cell("%%tornado\nx = 1\n") == "get_ipython().run_cell_magic('tornado', '', 'x = 1\\n')\n"
        result, run, _ = tornado_cell(ip, "import asyncio\nawait asyncio.sleep(0.01)\n7")
    finally:
        ip.autoawait = True
    assert result.result == 7 and run.value == 7 and run.error is None


def test_a_semicolon_silences_the_value(ip):
    result, run, captured = tornado_cell(ip, "x = 3\nx * 2;")
    assert result.result is None and run.value == 6
    assert len(captured.outputs) == 1  # the report, not the value


def test_exception_keeps_the_report_and_the_cell_traceback(ip):
    result, run, captured = tornado_cell(ip, "import asyncio\nawait asyncio.sleep(0)\nraise KeyError('missing')")
    assert isinstance(result.error_in_exec, KeyError)
    assert run.error is result.error_in_exec
    text = "\n".join(run.error._render_traceback_())
    assert "missing" in text and "tornado_cell" not in text
    assert len(captured.outputs) == 1
    assert unrestored() == []


def test_top_level_await_and_blocking_calls_mix(ip, demo_url):
    ip.user_ns["DEMO"] = demo_url
    result, run, _ = tornado_cell(
        ip,
        "import asyncio\n"
        "from tornado.ioloop import IOLoop\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "first = await AsyncHTTPClient().fetch(DEMO + '/bytes/10')\n"
        "second = IOLoop.current().run_sync(lambda: AsyncHTTPClient().fetch(DEMO + '/bytes/20'))\n"
        "await asyncio.sleep(0)\n"
        "(len(first.body), len(second.body))",
    )
    assert result.result == (10, 20)
    assert [(r.status, r.nbytes) for r in run.requests] == [(200, 10), (200, 20)]


def test_programmatic_call_without_a_running_loop_runs_on_a_new_loop(ip):
    before = IOLoop.current(instance=False)
    with capture_output():
        value = ip.run_cell_magic("tornado", "", "import asyncio\nawait asyncio.sleep(0.01)\n'done'")
    assert value == "done"
    assert geventtornado_magics.last_run().error is None
    assert IOLoop.current(instance=False) is before, "the new loop's IOLoop was closed with it"


def test_a_tornado_cell_inside_a_tornado_cell_is_refused(ip):
    result, run, _ = tornado_cell(ip, "get_ipython().run_cell_magic('tornado', '', '1')")
    assert isinstance(result.error_in_exec, UsageError)
    assert "cannot run inside a %%tornado cell" in str(run.error)
    assert running_cell() is None


def test_timeout_cancels_the_cells_tasks(ip):
    started = time.monotonic()
    result, run, _ = tornado_cell(
        ip,
        "import asyncio\nforgotten = asyncio.ensure_future(asyncio.sleep(30))\nawait asyncio.sleep(5)",
        "--timeout 0.2",
    )
    assert time.monotonic() - started < 4, "well before the 5 s sleep ends"
    assert type(result.error_in_exec).__name__ == "CellTimeout"
    assert ip.user_ns["forgotten"].cancelled()
    assert "--timeout 0.2" in str(run.error)
    assert unrestored() == []


def test_no_trace_keeps_requests_and_tasks_and_drops_callbacks(ip, demo_url):
    ip.user_ns["DEMO"] = demo_url
    body = (
        "from tornado.httpclient import AsyncHTTPClient\n"
        "async def get():\n"
        "    return (await AsyncHTTPClient().fetch(DEMO + '/delay/0.05')).code\n"
        "import asyncio\n"
        "await asyncio.gather(get(), get())"
    )
    _, traced, _ = tornado_cell(ip, body)
    _, untraced, _ = tornado_cell(ip, body, "--no-trace")
    assert traced.events and not untraced.events
    assert [r.status for r in untraced.requests] == [200, 200]
    assert [t.name for t in untraced.tasks] == ["get()", "get() #2"]


def test_caps_count_what_they_drop(ip):
    ip.run_line_magic("config", "GeventTornadoMagics.max_events = 3")
    ip.run_line_magic("config", "GeventTornadoMagics.max_tasks = 2")
    try:
        _, run, _ = tornado_cell(
            ip, "import asyncio\nasync def nap():\n    await asyncio.sleep(0)\nawait asyncio.gather(*[nap() for _ in range(5)])"
        )
    finally:
        ip.run_line_magic("config", f"GeventTornadoMagics.max_events = {Limits.events}")
        ip.run_line_magic("config", f"GeventTornadoMagics.max_tasks = {Limits.tasks}")
    assert len(run.events) == 3 and run.dropped["events"] > 0
    assert len(run.tasks) == 2 and run.dropped["tasks"] == 3


# -- the parts, on a loop of their own ----------------------------------------


def run_as_cell(body):
    """Run ``body(work)`` as a cell would: in a task of a new loop, with the cell's context marked."""

    async def main():
        with CellWork(asyncio.get_running_loop()) as work:
            return await body(work)

    return asyncio.run(main())


def test_cell_work_tells_the_cells_work_from_the_rest():
    async def body(work):
        loop = work.loop
        outside = loop.call_later(10, print, context=contextvars.Context())
        timer = loop.call_later(10, print)
        soon = loop.call_soon(print)
        task = asyncio.ensure_future(asyncio.sleep(10))
        work.track(task)
        found = (set(work.scheduled()), work.unfinished())
        work.cancel_leftovers()
        outside.cancel()
        await asyncio.sleep(0)
        return found, timer, soon, task

    (scheduled, unfinished), timer, soon, task = run_as_cell(body)
    assert scheduled == {timer, soon}, "the kernel's (outside) timer and the task's steps are not listed"
    assert unfinished == [task] and task.cancelled() and timer.cancelled() and soon.cancelled()


def test_loop_callbacks_records_kinds_lanes_and_lines():
    async def worker():
        await asyncio.sleep(0.01)

    async def body(work):
        # This file stands for the cell: its lines are the cell's.
        recorder = LoopCallbacks(TornadoScope(work, asyncio.current_task(), filename=__file__))
        with recorder:
            task = asyncio.ensure_future(worker())
            work.loop.call_soon(greet)
            await task
        return recorder.events, id(task)

    def greet():
        pass

    events, task_key = run_as_cell(body)
    seen = {(e.kind, e.lane == task_key, e.label.split("<locals>.")[-1]) for e in events}
    assert ("step", True, "worker starts") in seen and ("step", True, "worker resumes") in seen
    assert ("timer", False, "asyncio.sleep ends") in seen
    assert ("callback", False, "greet") in seen
    greet_line = next(e.line for e in events if e.label.endswith("greet"))
    assert greet_line == greet.__code__.co_firstlineno
    assert all(e.duration is not None and e.duration >= 0 for e in events)
    assert unrestored() == []


def test_cell_tasks_names_asyncio_tasks_and_gen_coroutines_and_restores_the_factory():
    async def fetch_page(url, retries=2):
        return len(url)

    @gen.coroutine
    def legacy(n):
        yield gen.sleep(0.01)
        return n * 2

    async def failing():
        raise ValueError("nope")

    async def body(work):
        with CellTasks(TornadoScope(work, None, limits=Limits(tasks=10))) as tasks:
            results = await asyncio.gather(fetch_page("http://x/"), legacy(21), failing(), return_exceptions=True)
        factory = work.loop.get_task_factory()
        return tasks.records, results, factory

    records, results, factory = run_as_cell(body)
    assert results[:2] == [9, 42]
    # legacy(21) is recorded first: a gen.coroutine starts at the call, a coroutine when gather wraps it.
    summary = [(r.name.split("<locals>.")[-1], r.state, r.outcome) for r in records]
    assert summary == [
        ("legacy(21)", "done", ("42", None)),
        ("fetch_page('http://x/', 2)", "done", ("9", None)),
        ("failing()", "failed", (None, "ValueError: nope")),
    ]
    assert all(r.end is not None and r.end >= r.spawned for r in records)
    assert factory is None
    assert unrestored() == []


def test_cell_task_factory_takes_the_keywords_newer_pythons_pass():
    """Python 3.13.3 calls a loop's task factory with name= (and 3.14 with eager_start=) as well as context=."""

    async def crawl():
        return "crawled"

    async def body(work):
        with CellTasks(TornadoScope(work, None, limits=Limits(tasks=10))) as tasks:
            factory = work.loop.get_task_factory()
            task = factory(work.loop, crawl(), name="crawler", context=contextvars.copy_context())
            value = await task
        return task.get_name(), value, [r.name.split("<locals>.")[-1] for r in tasks.records]

    assert run_as_cell(body) == ("crawler", "crawled", ["crawl()"])


def test_coroutine_labels_leave_out_self():
    class Crawler:
        async def visit(self, url):
            pass

    coro = Crawler().visit("http://example/")
    try:
        assert coroutine_label(coro).endswith("Crawler.visit('http://example/')")
    finally:
        coro.close()


class ScriptedClient(AsyncHTTPClient):
    """An HTTP client implementation of its own: answers after 0.25 s, 0.2 s of which in its queue."""

    def fetch_impl(self, request, callback):
        def answer():
            started = time.time() - 0.05  # HTTPResponse.start_time: when it left the queue
            callback(HTTPResponse(request, 200, buffer=io.BytesIO(b"hello"), start_time=started))

        IOLoop.current().call_later(0.25, answer)


def test_http_recorder_records_any_client_implementation_and_counts_past_the_cap():
    async def body(work):
        client = ScriptedClient(force_instance=True)
        with TornadoHttpRecorder(TornadoScope(work, None, limits=Limits(requests=1)), lambda: None) as http:
            responses = await asyncio.gather(client.fetch("http://a/"), client.fetch("http://b/"))
        client.close()
        return http, responses

    http, responses = run_as_cell(body)
    assert [r.body for r in responses] == [b"hello", b"hello"]
    ((row, _),) = http.fetched
    assert (row.url, row.status, row.nbytes, row.error) == ("http://a/", 200, 5, None)
    # At least its 0.2 s in the queue (more on a busy machine, whose timers fire late), then 0.05 s.
    assert row.queued >= 0.19 and row.duration == pytest.approx(0.05, abs=0.03)
    assert http.dropped == 1
    assert unrestored() == []


def test_http_recorder_times_the_queue_and_aborting_frees_the_client(demo_url):
    async def body(work):
        client = AsyncHTTPClient(force_instance=True, max_clients=1)
        with TornadoHttpRecorder(TornadoScope(work, None, limits=Limits(requests=10)), lambda: None) as http:
            await asyncio.gather(*[client.fetch(f"{demo_url}/delay/0.1") for _ in range(3)])
            client.fetch(f"{demo_url}/delay/5")  # in flight
            client.fetch(f"{demo_url}/delay/5")  # queued behind it
            await asyncio.sleep(0.1)
            http.abort_pending("cancelled: test")
            started = time.monotonic()
            again = await client.fetch(f"{demo_url}/delay/0")
            took = time.monotonic() - started
        state = (len(client.active), len(client.waiting))
        client.close()
        return [fetched.request for fetched in http.fetched], again.code, took, state

    rows, code, took, state = run_as_cell(body)
    first, second, third = rows[:3]
    assert first.queued == 0, "one at a time: each waits for the one before"
    assert 0.1 <= second.queued < third.queued
    assert third.duration < third.queued, "a request's own time leaves out the queue"
    in_flight, queued = rows[3:5]
    assert in_flight.error == queued.error == "cancelled: test"
    assert in_flight.queued == 0 and in_flight.duration >= 0.1
    assert queued.duration == 0 and queued.queued >= 0.1, "it never left the queue"
    assert code == 200 and took < 3, "the aborted requests gave their slot back before the 5 s ones would end"
    assert state == (0, 0)


def test_portal_lets_plain_code_wait_for_awaitables():
    def blocking(seconds):
        return await_(asyncio.sleep(seconds, "slept"))

    def failing():
        return await_(asyncio.wait_for(asyncio.sleep(1), 0.01))

    async def cell():
        assert in_portal()
        first = blocking(0.01)
        try:
            failing()
        except TimeoutError:
            second = "timed out"
        return first, second, await asyncio.sleep(0, "awaited")

    async def main():
        assert not in_portal()
        with pytest.raises(RuntimeError, match="needs a Portal"):
            await_(asyncio.get_running_loop().create_future())
        done = await Portal(cell())
        waiting = asyncio.ensure_future(Portal(cell_that_blocks()))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return done

    unwound = []

    async def cell_that_blocks():
        try:
            blocking(10)
        finally:
            unwound.append(True)

    assert asyncio.run(main()) == ("slept", "timed out", "awaited")
    assert unwound == [True], "cancellation reached the waiting plain code"


def test_loop_reentry_runs_a_coroutine_from_inside_a_running_loop():
    ticks = []

    async def ticker():
        while True:
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def needs_the_loop():
        before = len(ticks)
        await asyncio.sleep(0.05)
        return len(ticks) > before  # other tasks ran meanwhile

    def plain_function():
        return run_until_complete(needs_the_loop())

    async def main():
        background = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        me = asyncio.current_task()
        progressed = plain_function()
        still_me = asyncio.current_task() is me
        after = len(ticks)
        await asyncio.sleep(0.03)
        background.cancel()
        return progressed, still_me, len(ticks) > after

    progressed, still_me, ticks_on = asyncio.run(main())
    assert progressed and still_me and ticks_on, "the background task ran during the re-entry and after it"


def test_transformer_is_installed_once_and_removed_on_unload(ip):
    def installed():
        return sum(type(t).__name__ == "TornadoCellTransformer" for t in ip.input_transformers_cleanup)

    transformer.install(ip)
    assert installed() == 1
    ip.run_line_magic("reload_ext", "geventtornado_magics")
    assert installed() == 1
    ip.run_line_magic("unload_ext", "geventtornado_magics")
    assert installed() == 0
    ip.run_line_magic("load_ext", "geventtornado_magics")
    assert installed() == 1


def test_ctrl_c_before_the_cell_starts_is_a_keyboard_interrupt(ip):
    from geventtornado_magics.tornado_cell.runner import run_tornado_cell

    async def interrupted_cell():
        asyncio.current_task().cancel()  # what ipykernel's SIGINT handler does to an await cell's Task
        return await run_tornado_cell(ip, "import asyncio\nawait asyncio.sleep(30)\n")

    started = time.monotonic()
    run = run_until_complete(interrupted_cell())
    assert isinstance(run.error, KeyboardInterrupt), repr(run.error)
    assert time.monotonic() - started < 20, "stopped at its first wait, not after it"
