"""Teaching beyond the essay, in a real kernel: models side by side, --compare, the blocking detector."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.kernel


def walls_of(reply, label):
    """The two wall times of a --compare report's headline, in seconds."""
    headline = reply.displays[0]["text/plain"].splitlines()[0]
    assert headline.startswith(f"the cell as written, then {label}: as written "), headline
    found = re.findall(r"(\d+(?:\.\d+)?) (ms|s)\b", headline)
    return [float(value) / (1000 if unit == "ms" else 1) for value, unit in found]


def last(kernel, expression):
    return kernel.ok(f"import geventtornado_magics as _g\nprint({expression})").stdout.strip()


def test_compare_models_shows_sequential_against_each_concurrent_model(kernel):
    reply = kernel.ok("comparison = %compare_models -n 20 --path /delay/0.5\ncomparison", timeout=120)
    walls = kernel.ok(
        "print({label: round(run.wall, 2) for label, run in comparison.runs.items()})"
    ).stdout
    walls = eval(walls)  # noqa: S307 - our own dict of floats, printed by the kernel
    assert list(walls) == ["sequential", "threads", "gevent", "tornado", "asyncio"]
    assert walls["sequential"] >= 9.5
    for model in ("threads", "gevent", "tornado", "asyncio"):
        assert walls[model] < 5, walls  # in turn, twenty 0.5 s requests take 10 s
    counts = kernel.ok(
        "print([len([r for r in run.requests if r.status == 200]) for run in comparison.runs.values()])"
    ).stdout.strip()
    assert counts == "[20, 20, 20, 20, 20]"
    html = reply.result["text/html"]
    assert "20 requests of /delay/0.5" in html and "speed-up" in html and "<svg" in html
    assert "sequential: the full report" in html and "monkey.patch_all()" in html
    # Nothing of the comparison is left in the namespace or patched.
    leftovers = kernel.ok("print('URLS' in dir(), '__gtm_requests' in dir(), __import__('socket').socket.__module__)")
    assert leftovers.stdout.strip() == "False False socket"


def test_compare_models_refuses_an_unknown_model(kernel):
    reply = kernel.execute("%compare_models --models gevent,fibers")
    assert reply.status == "error" and "unknown model fibers" in reply.text


def test_gevent_compare_runs_the_cell_twice_and_shows_the_speed_up(kernel):
    reply = kernel.ok(
        "%%gevent --compare\n"
        "import gevent, urllib.request\n"
        "from gevent import monkey\n"
        "monkey.patch_all()\n"
        "jobs = [gevent.spawn(urllib.request.urlopen, DEMO + '/delay/0.3') for _ in range(4)]\n"
        "gevent.joinall(jobs)\n"
        "'done'"
    )
    assert reply.value == "'done'"
    as_written, without = walls_of(reply, "without patching")
    assert as_written < 1.2 <= without  # four 0.3 s requests at once, then in turn
    assert float(last(kernel, "_g.last_run().wall")) < 1.2  # last_run() is the run as written


def test_tornado_compare_runs_one_request_at_a_time_the_second_time(kernel):
    reply = kernel.ok(
        "%%tornado --compare\n"
        "import asyncio\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "await asyncio.gather(*(AsyncHTTPClient().fetch(DEMO + '/delay/0.3') for _ in range(4)))\n"
        "'done'"
    )
    assert reply.value == "'done'"
    as_written, without = walls_of(reply, "one request at a time")
    assert as_written < 1.2 <= without
    assert float(last(kernel, "_g.last_run().wall")) < 1.2
    # The kernel's own client is back to its ten connections.
    assert kernel.ok("from tornado.httpclient import AsyncHTTPClient\nAsyncHTTPClient().max_clients").value == "10"


def test_blocking_sleep_in_a_greenlet_is_flagged_at_its_line(kernel):
    reply = kernel.ok(
        "%%gevent\n"
        "import gevent, time\n"
        "def slow():\n"
        "    time.sleep(0.3)\n"
        "def polite():\n"
        "    gevent.sleep(0.1)\n"
        "gevent.joinall([gevent.spawn(polite), gevent.spawn(slow)])\n"
    )
    flagged = last(kernel, "[(b.task, b.line, round(b.duration, 1)) for b in _g.last_run().blocking]")
    assert flagged == "[('slow()', 3, 0.3)]"
    assert "held the loop" in reply.html and "time.sleep" in reply.html


def test_blocking_sleep_in_a_coroutine_is_flagged_at_its_line(kernel):
    reply = kernel.ok(
        "%%tornado\n"
        "import asyncio, time\n"
        "async def slow():\n"
        "    time.sleep(0.3)\n"
        "async def polite():\n"
        "    await asyncio.sleep(0.1)\n"
        "await asyncio.gather(polite(), slow())\n"
    )
    flagged = last(kernel, "[(b.task, b.line, round(b.duration, 1)) for b in _g.last_run().blocking]")
    assert flagged == "[('slow()', 3, 0.3)]"
    assert "held the loop" in reply.html


@pytest.mark.parametrize(
    "cell",
    [
        "%%gevent --patch\nimport gevent, urllib.request\n"
        "gevent.joinall([gevent.spawn(urllib.request.urlopen, DEMO + '/delay/0.3') for _ in range(3)])",
        "%%tornado\nimport asyncio\nfrom tornado.httpclient import AsyncHTTPClient\n"
        "await asyncio.gather(*(AsyncHTTPClient().fetch(DEMO + '/delay/0.3') for _ in range(3)))",
    ],
    ids=["gevent", "tornado"],
)
def test_a_clean_run_flags_nothing(kernel, cell):
    reply = kernel.ok(cell)
    assert last(kernel, "_g.last_run().blocking") == "[]"
    assert "held the loop" not in reply.html
