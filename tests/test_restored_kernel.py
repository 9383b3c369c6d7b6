"""Everything a cell swapped is back after it, however it ended: read from scope's own record."""

from __future__ import annotations

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
