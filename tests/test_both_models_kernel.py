"""What both magics promise alike, in a real kernel, for each model: a cell behaves like a cell, and
everything it swapped is back after it, however it ended (read from scope's own record)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.kernel

#: A cell of each model that swaps what its model swaps, then ends as an ending says.
CELLS = {
    "gevent": (
        "%%gevent --patch {options}\n"
        "import gevent, urllib.request, geventtornado_magics.scope as _scope\n"
        "_inside = _scope.live()\n"
        "gevent.spawn(urllib.request.urlopen, DEMO + '/delay/0').join()\n"
        "{ending}\n"
    ),
    "tornado": (
        "%%tornado {options}\n"
        "import asyncio\n"
        "from tornado.httpclient import AsyncHTTPClient\n"
        "import geventtornado_magics.scope as _scope\n"
        "_inside = _scope.live()\n"
        "await AsyncHTTPClient().fetch(DEMO + '/delay/0')\n"
        "{ending}\n"
    ),
}

#: Waiting for ever, the model's way.
FOREVER = {"gevent": "while True: gevent.sleep(0.05)", "tornado": "while True: await asyncio.sleep(0.05)"}

#: How a cell ends: its last line, its options, the error it ends with, Ctrl-C after how long.
ENDINGS = {
    "success": ("'done'", "", None, None),
    "error": ("raise KeyError('cell failed')", "", "KeyError", None),
    "timeout": ("{forever}", "--timeout 0.5", "CellTimeout", None),
    "interrupt": ("{forever}", "", "KeyboardInterrupt", 1.0),
}

#: Places each model's machinery swaps in every traced cell: the record must have met them.
EXPECTED = {
    "gevent": {"gevent.monkey.patch_all", "http.client.HTTPConnection.putrequest", "greenlet's trace function"},
    "tornado": {"asyncio.events.Handle._run", "tornado.httpclient.AsyncHTTPClient.fetch", "the SIGINT handler"},
}


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("model", CELLS)
def test_everything_the_cell_swapped_is_back(kernel, model, ending):
    last_line, options, error, interrupt_after = ENDINGS[ending]
    reply = kernel.execute(
        CELLS[model].format(options=options, ending=last_line.format(forever=FOREVER[model])), timeout=30, interrupt_after=interrupt_after
    )
    assert (reply.error or {}).get("ename") == error, reply.text
    inside = kernel.ok("print(sorted(_inside))").stdout
    assert all(repr(place) in inside for place in EXPECTED[model]), inside
    assert kernel.ok("print(_scope.live(), _scope.unrestored())").stdout.strip() == "[] []"


#: Waits two seconds, the model's way.
TWO_SECONDS = {"gevent": "import gevent\ngevent.sleep(2.0)", "tornado": "import asyncio\nawait asyncio.sleep(2.0)"}
#: Yields once to the loop, the model's way.
YIELD = {"gevent": "import gevent\ngevent.sleep(0)", "tornado": "import asyncio\nawait asyncio.sleep(0)"}


@pytest.mark.parametrize("model", CELLS)
def test_output_is_live_while_the_cell_runs(kernel, model):
    reply = kernel.ok(f"%%{model}\nprint('before', flush=True)\n{TWO_SECONDS[model]}\nprint('after')\n")
    first_time, first_text = reply.stream_times[0]
    assert "before" in first_text and "after" not in first_text
    assert reply.finished - reply.started - first_time > 1.0, "shown well before the cell ended"


@pytest.mark.parametrize("model", CELLS)
def test_last_expression_is_the_value_and_a_semicolon_silences_it(kernel, model):
    assert kernel.ok(f"%%{model}\nx = 20\nx * 2 + 2").value == "42"
    assert kernel.ok(f"%%{model}\nx = 21\nx * 2 + 2;").value is None
    assert kernel.ok("x").value == "21"


@pytest.mark.parametrize("model", CELLS)
def test_exception_shows_the_users_traceback_after_the_report(kernel, model):
    reply = kernel.execute(f"%%{model}\n{YIELD[model]}\nraise ValueError('bad value')\n")
    assert reply.status == "error" and reply.error["ename"] == "ValueError"
    text = re.sub(r"\x1b\[[0-9;]*m", "", reply.traceback)
    assert "----> 3 raise ValueError('bad value')" in text
    for internal in (f"{model}_cell", "magics.py", "run_cell_magic", "run_tornado"):
        assert internal not in text
    assert len(reply.displays) == 1 and "ValueError: bad value" in reply.html


@pytest.mark.parametrize("model", CELLS)
def test_unload_and_reload(kernel, model):
    kernel.ok("%unload_ext geventtornado_magics")
    gone = kernel.execute(f"%%{model}\n1")
    assert gone.status == "error" and "not found" in gone.text
    kernel.ok("%load_ext geventtornado_magics")
    kernel.ok("%reload_ext geventtornado_magics")
    transformers = kernel.ok(
        "sum(type(t).__name__ == 'TornadoCellTransformer' for t in get_ipython().input_transformers_cleanup)"
    )
    assert transformers.value == "1"
    assert kernel.ok(f"%%{model}\n1 + 2").value == "3"
