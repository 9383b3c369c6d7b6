"""%%gevent on IPython's in-process shell: options, cell behaviour, patching, recorders."""

from __future__ import annotations

import select
import sys
import socket
import threading
import time
import urllib.request

import greenlet
import pytest

import geventtornado_magics
from geventtornado_magics.cell import compile_cell
from geventtornado_magics.gevent_cell.patching import ScopedPatching
from geventtornado_magics.scope import CellScope, Limits, Swaps, unrestored
from geventtornado_magics.gevent_cell.switches import TRACE_FUNCTION, SwitchRecorder
from geventtornado_magics.recorders.http_client import HttpClientRecorder
from geventtornado_magics.recorders.naming import call_label, short_repr

from .cells import magic_cell


def gevent_cell(ip, body, options=""):
    return magic_cell(ip, "gevent", body, options)


# -- the magic ---------------------------------------------------------------


def test_help_lists_the_options(ip):
    doc = ip.find_cell_magic("gevent").__doc__
    for option in ("--patch", "--timeout SECONDS", "--no-trace"):
        assert option in doc


def test_exception_keeps_the_report_and_the_cell_traceback(ip):
    result, run, captured = gevent_cell(ip, "a = 1\nraise KeyError('missing')")
    assert isinstance(result.error_in_exec, KeyError)
    assert run.error is result.error_in_exec
    frames = run.error._render_traceback_()
    text = "\n".join(frames)
    assert "missing" in text and "gevent_cell" not in text
    assert len(captured.outputs) == 1  # the report was displayed before the traceback


def test_timeout_stops_the_cell(ip):
    started = time.monotonic()
    result, run, _ = gevent_cell(ip, "import gevent\ng = gevent.spawn(gevent.sleep, 5)\ng.join()", "--timeout 0.2")
    assert time.monotonic() - started < 4, "well before the 5 s sleep ends"
    assert type(result.error_in_exec).__name__ == "CellTimeout"
    assert [t.state for t in run.tasks] == ["killed"]
    assert "--timeout 0.2" in str(run.error)


def test_no_trace_keeps_requests_and_drops_switches(ip, demo_url):
    ip.user_ns["DEMO"] = demo_url
    body = "import gevent, urllib.request\ngevent.joinall([gevent.spawn(urllib.request.urlopen, DEMO + '/delay/0')])"
    _, traced, _ = gevent_cell(ip, body, "--patch")
    _, untraced, _ = gevent_cell(ip, body, "--patch --no-trace")
    assert traced.events and not untraced.events
    assert len(untraced.requests) == 1 and untraced.requests[0].status == 200


def test_caps_count_what_they_drop(ip):
    ip.run_line_magic("config", "GeventTornadoMagics.max_events = 5")
    try:
        _, run, _ = gevent_cell(ip, "import gevent\ngevent.joinall([gevent.spawn(gevent.sleep, 0) for _ in range(20)])")
    finally:
        ip.run_line_magic("config", "GeventTornadoMagics.max_events = 200000")
    assert len(run.events) == 5 and run.dropped["events"] > 0
    assert f"{run.dropped['events']:,} events" in repr(run)


def test_greenlet_names_and_parents(ip):
    _, run, _ = gevent_cell(ip, "import gevent\ndef work(n, label='x'):\n    return n * 2\ngevent.spawn(work, 21, label='y').get()")
    assert run.value == 42
    (task,) = run.tasks
    assert task.name == "work(21, label='y')" and task.state == "done" and task.result == "42"
    assert task.spawned_by == "cell" and task.parent == "hub"


def test_a_pools_helper_greenlet_is_named_after_the_call_that_made_it(ip):
    body = "from gevent.pool import Pool\npool = Pool(2)\npool.map(abs, [-1, -2])\nlist(pool.imap_unordered(abs, [-3]))"
    _, run, _ = gevent_cell(ip, body)
    names = [task.name for task in run.tasks]
    assert names[0] == "pool.map(abs)" and "pool.imap_unordered(…)" in names
    assert not [name for name in names if "GroupMappingMixin" in name]


def test_failed_greenlets_are_one_line_each_not_gevents_tracebacks(ip):
    from gevent import get_hub

    body = "import gevent\ndef boom(n):\n    raise ValueError(f'bad {n}')\n"
    body += "gevent.joinall([gevent.spawn(boom, n) for n in range(8)])"
    _, run, captured = gevent_cell(ip, body)
    lines = captured.stderr.splitlines()
    assert lines[:5] == [f"greenlet boom({n}) failed: ValueError: bad {n}" for n in range(5)]
    assert lines[5:] == ["… more greenlets failed: the report below lists every one"]
    assert [task.state for task in run.tasks] == ["failed"] * 8, "the report has every failure"
    assert "print_exception" not in vars(get_hub()), "the hub prints as gevent does again after the cell"


def test_an_error_the_report_does_not_show_is_printed_as_gevent_prints_it(ip):
    body = "import gevent\ndef broken_link(greenlet):\n    raise ValueError('in the link')\n"
    body += "g = gevent.spawn(lambda: 1)\ng.link(broken_link)\ng.join()\ngevent.sleep(0.01)"
    _, _, captured = gevent_cell(ip, body)
    assert "ValueError: in the link" in captured.stderr
    assert "Traceback" in captured.stderr and "broken_link" in captured.stderr
    assert "greenlet tuple failed" not in captured.stderr


def test_last_run_is_the_latest(ip):
    gevent_cell(ip, "'first'")
    _, run, _ = gevent_cell(ip, "'second'")
    assert geventtornado_magics.last_run() is run and run.value == "second"


def test_chrome_trace_has_requests_and_switches(ip, demo_url):
    ip.user_ns["DEMO"] = demo_url
    _, run, _ = gevent_cell(ip, "import gevent, urllib.request\ngevent.spawn(urllib.request.urlopen, DEMO + '/delay/0').join()", "--patch")
    trace = run.to_chrome_trace()
    kinds = {event["cat"] for event in trace["traceEvents"] if "cat" in event}
    assert {"request", "switch"} <= kinds


# -- compiling a cell --------------------------------------------------------


def test_cell_lines_count_from_the_line_after_the_magic(ip):
    cell = compile_cell(ip, "\n\nx = 1\nx + 1")
    assert cell.line_offset == 2 and cell.last_expr is not None and not cell.is_async
    assert cell.run(ip) == 2


def test_top_level_await_is_detected(ip):
    assert compile_cell(ip, "import asyncio\nawait asyncio.sleep(0)", allow_await=True).is_async


# -- scoped patching ----------------------------------------------------------


def test_patching_is_undone_and_can_happen_again():
    from gevent import monkey

    originals = (socket.socket, time.sleep, select.select, threading.Thread)
    for _ in range(2):
        with ScopedPatching() as scope:
            monkey.patch_all()
            assert socket.socket is not originals[0] and time.sleep is not originals[1]
            assert threading.Thread is originals[3]
        assert (socket.socket, time.sleep, select.select, threading.Thread) == originals
        assert monkey.saved == {} and monkey.patch_all.__module__ == "gevent.monkey"
    assert scope.report.patched == ["time", "socket", "select", "selectors", "ssl"]
    assert {"threading", "queue", "os", "signal", "subprocess"} <= set(scope.report.refused)


def test_patching_is_undone_when_the_cell_fails():
    from gevent import monkey

    with pytest.raises(RuntimeError), ScopedPatching():
        monkey.patch_socket()
        raise RuntimeError("cell failed")
    assert socket.socket.__module__ == "socket" and monkey.saved == {}


def test_other_threads_keep_the_standard_library_during_the_cell():
    from gevent import monkey

    seen = {}

    def other_thread():
        seen["socket"] = type(socket.socket()).__module__
        seen["sleep"] = time.sleep(0) is None and time.sleep.__module__

    with ScopedPatching():
        monkey.patch_all()
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        in_cell = socket.socket()
        in_cell.close()
    assert seen["socket"] == "socket"
    assert type(in_cell).__module__.startswith("gevent")


def test_patch_now_records_the_option():
    with ScopedPatching() as scope:
        scope.patch_now()
    assert scope.report.requested_by == ["--patch"] and "socket" in scope.report.patched


# -- recorders --------------------------------------------------------------


class LinesBy(CellScope):
    """A cell scope whose line lookup is the test's own."""

    __slots__ = ("lookup",)

    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup

    def line_of(self, where):
        return self.lookup(where)


def test_http_recorder_counts_bytes_and_errors(demo_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with HttpClientRecorder(CellScope(limits=Limits(requests=10)), lambda: "me") as recorder:
        assert len(urllib.request.urlopen(f"{demo_url}/bytes/1000").read()) == 1000
        assert len(urllib.request.urlopen(f"{demo_url}/drip?bytes=300&chunks=3&duration=0.1").read()) == 300
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{closed}/")
    (ok, _), (drip, _), (refused, _) = recorder.fetched
    assert (ok.status, ok.nbytes, ok.method) == (200, 1000, "GET") and ok.end > ok.start
    assert (drip.status, drip.nbytes) == (200, 300)
    assert refused.status is None and refused.error.startswith("ConnectionRefusedError")
    assert [fetched.lane for fetched in recorder.fetched] == ["me", "me", "me"]
    assert urllib.request.urlopen.__module__ == "urllib.request"


def test_http_recorder_records_every_threads_requests_and_counts_past_the_cap(demo_url):
    def fetch():
        urllib.request.urlopen(f"{demo_url}/delay/0").read()

    go = threading.Event()
    earlier = threading.Thread(target=lambda: go.wait(5) and fetch(), name="earlier")
    earlier.start()
    with HttpClientRecorder(CellScope(limits=Limits(requests=3)), lambda: threading.current_thread().name) as recorder:
        go.set()
        earlier.join(5)  # a thread running before the cell, a pool from an earlier cell say
        started = threading.Thread(target=fetch, name="started")
        started.start()
        started.join(5)
        for _ in range(3):
            fetch()
    assert [fetched.lane for fetched in recorder.fetched] == ["earlier", "started", threading.current_thread().name]
    assert recorder.dropped == 2


def test_switch_recorder_chains_the_previous_tracer_and_never_raises():
    import gevent

    calls = []

    def broken_line_of(frame):
        raise RuntimeError("must not escape")

    with Swaps() as swaps:
        swaps.swap_setting(TRACE_FUNCTION, greenlet.gettrace, greenlet.settrace, lambda event, args: calls.append(event))
        with SwitchRecorder(LinesBy(broken_line_of)) as recorder:
            gevent.spawn(gevent.sleep, 0).join()
            assert greenlet.gettrace() == recorder._trace  # still installed: it never raised
        assert calls  # the tracer installed before ours saw every switch too
    assert unrestored() == []
    # Switches whose line lookup failed were dropped; only a finished greenlet's (no lookup) remains.
    assert all(line is None for *_, line in recorder.events)


def test_a_ctrl_c_that_lands_in_the_switch_tracer_reaches_the_cell():
    import gevent

    presses = [KeyboardInterrupt()]

    def line_of_when_ctrl_c_lands(frame):
        if presses:
            raise presses.pop()  # as SIGINT's handler would, in the middle of the tracer
        return None

    with SwitchRecorder(LinesBy(line_of_when_ctrl_c_lands)) as recorder:
        sleeper = gevent.spawn(gevent.sleep, 0.01)
        with pytest.raises(KeyboardInterrupt):
            sleeper.join()
        assert greenlet.gettrace() is None  # greenlet removes a tracer that raised
        recorder.resume()
        assert greenlet.gettrace() == recorder._trace
        sleeper.join()  # interrupted, the join left it on the hub: it is not left for a later test
    columns = (recorder.times, recorder.origins, recorder.targets, recorder.lines)
    assert len({len(column) for column in columns}) == 1, "no switch left half-written"
    assert len(recorder.times) > 2, "switches after the Ctrl-C are traced again"


def test_names_are_short_and_readable():
    assert call_label(print, ("x" * 100,)).startswith("print('xxxx")
    assert len(short_repr("y" * 500)) == 48
    assert call_label(len, tuple(range(10))) == "len(0, 1, 2, 3, …)"


def test_the_sys_monitoring_tool_for_cell_lines_is_given_back_after_any_cell(ip):
    tools = getattr(sys, "monitoring", None)
    gevent_cell(ip, "import gevent\ngevent.spawn(gevent.sleep, 0).join()")
    gevent_cell(ip, "import gevent\ngevent.spawn(gevent.sleep, 0).join()\n1 / 0")
    assert unrestored() == []
    if tools is not None:  # Python 3.12+
        assert [tools.get_tool(tool) for tool in range(6)].count("geventtornado_magics") == 0
