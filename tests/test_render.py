"""The renderers are pure functions of a Run: these tests build Runs by hand.

Runs of 3 requests and of 10,000, with errors, with hostile strings, with a
million recorded switches; gevent and Tornado. Each view is checked for what a
reader needs, for escaping, and for its size bounds. The browser
tests (``test_render_browser.py``) open the same Runs in Chromium.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from geventtornado_magics.render import mimebundle
from geventtornado_magics.render.html import render_html
from geventtornado_magics.render.summary import blocking_findings, facts, headline, peak_in_flight, summarize
from geventtornado_magics.render.svg import TEXT_PX
from geventtornado_magics.render.svg import WIDTH as PICTURE_WIDTH
from geventtornado_magics.render.tables import request_table
from geventtornado_magics.render.text import render_text
from geventtornado_magics.render.timeline import MAX_LANES, build_timeline, running_slices
from geventtornado_magics.render.tree import task_tree
from geventtornado_magics.run import Blocking, Event, Patching, Request, Run, Task

BASE = "http://127.0.0.1:8000"
GEVENT_SOURCE = """import gevent
from gevent import monkey
def fetch(url):
    with urllib.request.urlopen(url) as r:
        return len(r.read())
jobs = [gevent.spawn(fetch, u) for u in urls]
gevent.joinall(jobs)"""
TORNADO_SOURCE = """from tornado.httpclient import AsyncHTTPClient
client = AsyncHTTPClient(max_clients=2)
async def fetch(url):
    response = await client.fetch(url, raise_error=False)
    return len(response.body)
await asyncio.gather(*(fetch(u) for u in urls))"""

#: Strings a cell, a server or an exception could hand the report. Each would
#: change the page's title if it ran.
HOSTILE = [
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "\"><svg onload=\"document.title='pwned'\">",
    "</style><script>document.title='pwned'</script>",
    "]]></title></text></svg><script>document.title='pwned'</script>",
]


def gevent_run(n: int = 3, delay: float = 0.2, failures: int = 0, wall: float | None = None) -> Run:
    """A ``%%gevent`` cell that spawned ``n`` greenlets, each fetching one URL, all at once.

    The switches are the ones gevent makes: the cell waits on ``joinall``
    (line 7), the hub resumes each greenlet, which waits on its request
    (line 4); when a response arrives the hub resumes the greenlet, which
    finishes, and at the end the cell.
    """
    start = 0.010
    tasks, requests, events = [], [], [Event(start, "switch", "cell", "hub", "waits", 7)]
    t = start
    for i in range(n):
        name = f"fetch('{BASE}/delay/{delay}?i={i}')"
        tasks.append(Task(name, key=1000 + i, spawned=start, start=t, spawned_by="cell", parent="hub"))
        events.append(Event(t, "switch", "hub", name, "resumed"))
        requests.append(Request(f"{BASE}/delay/{delay}?i={i}", start=t + 2e-5, task=name))
        t += 5e-5
        events.append(Event(t, "switch", name, "hub", "waits", 4))
    for i, (task, request) in enumerate(zip(tasks, requests, strict=True)):
        request.end = request.start + delay + i * 1e-4
        if i < failures:
            request.error = "ConnectionRefusedError: [Errno 111] Connection refused"
            task.state, task.error = "failed", request.error
        else:
            request.status, request.nbytes, task.result = 200, 14, "14"
        task.end = request.end + 1e-4
        events.append(Event(request.end, "switch", "hub", task.name, "resumed"))
        events.append(Event(task.end, "switch", task.name, "hub", "finished"))
    end = events[-1].time
    events.append(Event(end + 1e-5, "switch", "hub", "cell", "resumed"))
    return Run(
        model="gevent",
        source=GEVENT_SOURCE,
        wall=wall or end + 0.002,
        cpu=0.004,
        requests=requests,
        tasks=tasks,
        events=events,
        patching=Patching(["socket", "ssl", "select"], {"threading": "the kernel's threads need it"}, ["patch_all()"]),
    )


def tornado_run(n: int = 6, max_clients: int = 2, delay: float = 0.1) -> Run:
    """A ``%%tornado`` cell: ``n`` coroutines sharing a client of ``max_clients`` connections."""
    tasks, requests, events = [], [], []
    for i in range(n):
        name = f"fetch('{BASE}/delay/{delay}?i={i}')"
        queued = (i // max_clients) * delay
        start = 0.005 + queued
        end = start + delay
        tasks.append(Task(name, key=i, spawned=0.004, start=0.004, end=end + 1e-3, spawned_by="cell", result="14"))
        url = f"{BASE}/delay/{delay}?i={i}"
        requests.append(Request(url, status=200, nbytes=14, start=start, end=end, task=name, queued=queued))
        events.append(Event(0.004, "step", name, label="fetch() started", line=4, duration=4e-5))
        events.append(Event(end, "io", "loop", label="read response", duration=2e-5))
        events.append(Event(end + 3e-5, "step", name, label="fetch() resumed", line=4, duration=3e-5))
    events.sort(key=lambda e: e.time)
    wall = requests[-1].end + 0.002
    return Run(model="tornado", source=TORNADO_SOURCE, wall=wall, requests=requests, tasks=tasks, events=events)


def hostile_run() -> Run:
    """Every string the report shows, set to something that would run as markup."""
    run = gevent_run(len(HOSTILE), failures=2)
    for text, request, task in zip(HOSTILE, run.requests, run.tasks, strict=True):
        request.url = f"http://127.0.0.1:8000/{text}"
        request.method = text if request is run.requests[0] else "GET"
        request.error = request.error and f"HTTPError: {text}"
        task.result = text
        task.name = text + task.name
        request.task = task.name
    for event in run.events:
        for task in run.tasks:
            if event.source.endswith(task.name[len(task.name) - 30 :]):
                event.source = task.name
    run.source = "\n".join(HOSTILE + GEVENT_SOURCE.splitlines())
    run.notes = [HOSTILE[0]]
    run.patching.refused = {HOSTILE[1]: HOSTILE[2]}
    run.error = ValueError(HOSTILE[3])
    run.dropped = {"events": 3}
    return run


def million_events_run() -> Run:
    """A cell that switched 1,000,000 times between two greenlets through the hub."""
    run = gevent_run(2)
    names = [t.name for t in run.tasks]
    events = []
    step = 1e-6
    for i in range(250_000):
        t = 0.02 + i * 4 * step
        name = names[i % 2]
        events += [
            Event(t, "switch", "hub", name, "resumed"),
            Event(t + step, "switch", name, "hub", "waits", 4),
            Event(t + 2 * step, "switch", "hub", "cell", "resumed"),
            Event(t + 3 * step, "switch", "cell", "hub", "waits", 7),
        ]
    run.events = events
    run.wall = events[-1].time + 0.001
    return run


def svg_of(html: str) -> str:
    return re.search(r"<svg .*?</svg>", html, re.S).group(0)


def fallback_of(html: str) -> str:
    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
    return base64.b64decode(data).decode()


class Tags(HTMLParser):
    """Every start tag with its attributes, and a check that elements nest and close."""

    VOID = {"img", "br", "hr", "meta", "input", "rect", "line", "path"}

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


# The summary line


def test_headline_says_what_happened_in_plain_words():
    s = summarize(gevent_run(3, delay=0.5))
    assert headline(s) == "%%gevent: 3 requests in 512 ms — they overlapped 2.9× — peak 3 at once"


def test_headline_says_when_requests_ran_one_after_another():
    run = gevent_run(3)
    for i, r in enumerate(run.requests):
        r.start, r.end = 0.1 * i, 0.1 * i + 0.1
    run.wall = 0.3
    assert "one after another (1.0×)" in headline(summarize(run))
    assert "peak 1 at once" in headline(summarize(run))


def test_facts_line_counts_outcomes_switches_patching_and_what_was_dropped():
    run = gevent_run(4, failures=1)
    run.dropped = {"events": 12_000, "requests": 3}
    html = render_html(run)
    assert "4 requests (3 ok, 1 failed)" in html
    assert "of request time added up" in html
    assert f"{12_000 + len(run.events):,} switches" in html
    assert "patched for this cell only (patch_all()): socket, ssl, select" in html
    assert "not recorded past the caps: 12,000 events, 3 requests" in html
    assert "left alone: threading" in html


def test_tornado_facts_say_what_was_queued():
    text = render_text(tornado_run(6, max_clients=2))
    assert "4 requests queued 600 ms for a connection" in text
    assert "callbacks" in text.splitlines()[1]


def test_peak_in_flight_counts_a_handed_over_connection_once():
    requests = [Request("a", start=0.0, end=1.0), Request("b", start=1.0, end=2.0), Request("c", start=0.5, end=None)]
    assert peak_in_flight(requests, wall=3.0) == 2


# The timeline


def test_timeline_has_a_lane_per_greenlet_plus_cell_and_hub():
    run = gevent_run(3)
    timeline = build_timeline(run)
    assert [lane.name for lane in timeline.lanes] == ["cell", "hub"] + [f"fetch('/delay/0.2?i={i}')" for i in range(3)]
    greenlet = timeline.lanes[2]
    kinds = {m.kind for m in greenlet.marks}
    assert kinds == {"run", "request", "alive"}
    bar = next(m for m in greenlet.marks if m.kind == "request")
    assert "GET http://127.0.0.1:8000/delay/0.2?i=0 → 200" in bar.title
    ran = next(m for m in greenlet.marks if m.kind == "run")
    assert "then waited at line 4: with urllib.request.urlopen(url) as r:" in ran.title


def test_running_slices_follow_the_switches():
    run = gevent_run(1)
    slices = list(running_slices(run))
    assert [lane for lane, *_ in slices] == ["cell", "hub", run.tasks[0].name, "hub", run.tasks[0].name, "hub", "cell"]
    assert all(start <= end for _, start, end, *_ in slices)
    assert slices[0][1:4] == (0.0, 0.010, 7)


def test_svg_is_well_formed_with_colours_as_attributes_and_hover_titles():
    svg = svg_of(render_html(gevent_run(3, failures=1)))
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    rects = root.findall(f".//{ns}rect")
    assert any(r.get("fill") == "#3d8fd9" for r in rects), "request bars carry their colour inline"
    assert any(r.get("fill") == "#e5484d" for r in rects), "failed requests are red"
    assert all(r.get("fill") for r in rects), "every mark has a fill attribute, for hosts that strip CSS"
    titles = [t.text for t in root.iter(f"{ns}title")]
    assert any("ConnectionRefusedError" in t for t in titles)


def test_fallback_image_is_the_same_picture_as_a_standalone_document():
    html = render_html(gevent_run(3))
    image = ET.fromstring(fallback_of(html))
    assert image.get("width") == str(PICTURE_WIDTH) and image.get("height")
    assert not list(image.iter("{http://www.w3.org/2000/svg}title")), "an image shows no hover text: none written"
    live = ET.fromstring(svg_of(html))
    count = len(list(live.iter("{http://www.w3.org/2000/svg}rect")))
    assert len(list(image.iter("{http://www.w3.org/2000/svg}rect"))) == count + 1  # plus the card


def test_many_lanes_fold_into_one_and_a_strip_counts_requests_in_flight():
    run = gevent_run(10_000)
    timeline = build_timeline(run)
    assert len(timeline.lanes) == MAX_LANES
    # cell, hub and MAX_LANES - 3 greenlets are drawn; the last lane holds the rest.
    assert timeline.lanes[-1].name == f"{10_000 - (MAX_LANES - 3):,} more greenlets"
    assert timeline.strip.peak == summarize(run).peak == 8_000
    assert max(timeline.strip.counts) >= 8_000
    assert sum(len(lane.marks) for lane in timeline.lanes) <= 1_500


def test_a_lane_with_thousands_of_requests_merges_them_into_marks():
    run = gevent_run(1)
    run.requests = [Request(f"{BASE}/{i}", status=200, start=i * 1e-3, end=i * 1e-3 + 5e-4) for i in range(5_000)]
    run.wall = 5.0
    marks = [m for lane in build_timeline(run).lanes for m in lane.marks if m.kind == "request"]
    assert len(marks) <= 640
    assert any(re.match(r"[\d,]+ requests open", m.title) for m in marks)


def test_dropped_switches_are_not_guessed_and_are_noted():
    run = gevent_run(3)
    run.dropped = {"events": 500}
    timeline = build_timeline(run)
    assert "500 later switches were past the cap and not recorded" in timeline.note
    assert list(running_slices(run))[-1][2] == run.events[-1].time


def test_tornado_timeline_shows_queueing_and_callbacks():
    run = tornado_run(6, max_clients=2)
    timeline = build_timeline(run)
    assert [lane.name for lane in timeline.lanes][:2] == ["cell", "loop"]
    kinds = {m.kind for lane in timeline.lanes for m in lane.marks}
    assert {"queued", "request", "run"} <= kinds
    queued = next(m for lane in timeline.lanes for m in lane.marks if m.kind == "queued")
    assert "for a free connection" in queued.title
    assert 'class="gtm-queued"' in render_html(run)


def test_a_run_with_nothing_to_draw_has_no_picture():
    run = Run(model="gevent", source="x = 1", wall=0.001)
    assert "<svg" not in render_html(run)
    assert render_text(run).startswith("%%gevent: 1.0 ms — no HTTP requests recorded")


# The tables


def test_request_rows_are_sorted_by_start_with_every_column():
    run = gevent_run(3, failures=1)
    run.requests.reverse()
    table = request_table(run)
    assert table.header == ["#", "request", "status", "size", "start", "took", "greenlet", "error"]
    starts = [r.cells[4] for r in table.rows]
    assert starts == sorted(starts)
    failed = [r for r in table.rows if r.failed]
    assert len(failed) == 1 and failed[0].cells[2] == "failed" and "Connection refused" in failed[0].cells[-1]


def test_tornado_request_table_has_a_queued_column():
    table = request_table(tornado_run(4))
    assert table.header[6] == "queued" and table.header[7] == "task"
    assert [r.cells[6] for r in table.rows] == ["", "", "100 ms", "100 ms"]


def test_a_long_table_shows_the_first_the_slowest_and_the_failed_and_counts_the_rest():
    run = gevent_run(10_000, failures=0)
    run.requests[5000].end += 3.0
    run.requests[7000].error, run.requests[7000].status = "TimeoutError", None
    table = request_table(run)
    first, slowest, failed = table.groups
    assert len(first.rows) == 20 and first.rows[0].cells[0] == "1"
    assert slowest.caption == "the 10 slowest of the other 9,980" and slowest.rows[0].cells[0] == "5001"
    assert failed.rows[0].cells[0] == "7001"
    assert len(table.more) == 200 and table.hidden == 10_000 - 20 - 10 - 1 - 200
    html = render_html(run)
    assert "200 more requests</summary>" in html
    assert "9,769 more not shown" in html


def test_trace_shows_first_and_last_entries_with_their_cell_lines():
    run = gevent_run(30)
    html = render_html(run)
    assert f"… {len(run.events) - 32:,} more switches … the last 8:" in html
    assert "with urllib.request.urlopen(url) as r:" in html
    text = render_text(run)
    assert f"… {len(run.events) - 12:,} more switches … the last 4:" in text


def test_source_listing_counts_where_the_cell_waited():
    html = render_html(gevent_run(3))
    # Line 4 (the request) was left 3 times, line 7 (joinall) once.
    number = r'<td class="gtm-num" style="text-align:right;white-space:nowrap">'
    assert re.search(rf'<tr class="gtm-hit">{number}4</td>{number}3</td>', html)
    assert re.search(rf'<tr class="gtm-hit">{number}7</td>{number}1</td>', html)


# The tree


def test_greenlet_tree_is_rooted_at_the_cell_with_the_hub_as_parent():
    lines = task_tree(gevent_run(2))
    shape = [(line.prefix, line.name[:5]) for line in lines]
    assert shape == [("", "cell"), ("└─ ", "hub"), ("   ├─ ", "fetch"), ("   └─ ", "fetch")]
    assert "spawned by cell at 10 ms" in lines[2].note and "returned 14" in lines[2].note


def test_tree_nests_greenlets_under_their_parent_and_bounds_long_lists():
    run = gevent_run(10_000)
    run.tasks[1].parent = run.tasks[0].name
    lines = task_tree(run)
    assert lines[3].prefix == "   │  └─ " and lines[3].name == "fetch('/delay/0.2?i=1')"
    assert any(line.name == "… 9,975 more" for line in lines)
    assert len(lines) <= 80


def test_a_deep_chain_of_spawns_does_not_recurse():
    run = gevent_run(3_000)
    for parent, child in zip(run.tasks, run.tasks[1:], strict=False):
        child.parent = parent.name
    lines = task_tree(run)
    assert lines[-1].name == f"… {3_000 - 77:,} more greenlets not listed"


def test_tornado_tree_is_who_started_whom():
    run = tornado_run(3)
    run.tasks[2].spawned_by = run.tasks[1].name
    lines = task_tree(run)
    assert [line.prefix for line in lines] == ["", "├─ ", "└─ ", "   └─ "]
    assert lines[0].note == "the cell's own coroutine"


# Text


def test_text_report_reads_in_a_terminal():
    text = render_text(gevent_run(3, failures=1))
    lines = text.splitlines()
    assert lines[0].startswith("%%gevent: 3 requests in")
    assert "timeline" in lines and "requests (3), by start time" in lines
    assert any(line.strip().startswith("cell │") for line in lines)
    assert any("█" in line and "─" in line for line in lines)
    assert "trace: 14 switches" in text
    assert max(len(line) for line in lines) <= 140


def test_repr_is_the_text_report():
    run = gevent_run(2)
    assert repr(run) == render_text(run)


# Size bounds (how fast these build is measured by the benchmarks: benchmarks/README.md, "The targets")


def test_ten_thousand_requests_render_small():
    bundle = mimebundle(gevent_run(10_000, failures=50))
    assert len(bundle["text/html"].encode()) < 500_000
    assert len(bundle["text/plain"].encode()) < 50_000


def test_a_million_events_render_small():
    bundle = mimebundle(million_events_run())
    assert len(bundle["text/html"].encode()) < 500_000


# Safety


def test_hostile_strings_are_escaped_everywhere():
    html = render_html(hostile_run())
    tags = Tags(html)
    assert not tags.open, f"unclosed: {tags.open}"
    names = {tag for tag, _ in tags.tags}
    assert "script" not in names
    assert not [(tag, a) for tag, attrs in tags.tags for a in attrs if a.startswith("on")]
    images = [attrs["src"] for tag, attrs in tags.tags if tag == "img"]
    assert len(images) == 1 and images[0].startswith("data:image/svg+xml;base64,")
    for markup in (svg_of(html), fallback_of(html)):
        root = ET.fromstring(markup)  # well-formed: nothing broke out of an attribute or a text node
        assert not [e for e in root.iter() if e.tag.endswith("script") or any(a.startswith("on") for a in e.attrib)]
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html


def test_hostile_strings_stay_text_in_the_text_report():
    text = render_text(hostile_run())
    assert "ValueError: </style><script>" in text


# Exports


def test_chrome_trace_loads_as_json_with_lanes_requests_and_running_slices():
    run = gevent_run(3, failures=1)
    trace = json.loads(json.dumps(run.to_chrome_trace()))
    events = trace["traceEvents"]
    threads = {e["args"]["name"]: e["tid"] for e in events if e["name"] == "thread_name"}
    assert list(threads) == ["cell", "hub"] + [t.name for t in run.tasks]
    requests = [e for e in events if e.get("cat") == "request"]
    assert len(requests) == 3 and all(e["ph"] == "X" and e["dur"] > 0 for e in requests)
    assert requests[0]["args"]["error"].startswith("ConnectionRefusedError")
    assert requests[1]["tid"] == threads[run.tasks[1].name]
    running = [e for e in events if e.get("cat") == "running"]
    assert len(running) == len(run.events) + 1
    assert any(e["args"].get("source") == "gevent.joinall(jobs)" for e in running)
    assert all(e["ts"] >= 0 for e in events if e["ph"] == "X")
    switches = [e for e in events if e.get("cat") == "switch"]
    assert len(switches) == len(run.events) and all(e["ph"] == "i" for e in switches)
    assert switches[0]["args"] == {"to": "hub", "line": 7} and switches[0]["tid"] == threads["cell"]


def test_chrome_trace_shows_tornado_queueing():
    events = tornado_run(4).to_chrome_trace()["traceEvents"]
    assert len([e for e in events if e.get("cat") == "queued"]) == 2


def test_to_dataframe_has_every_request():
    pd = pytest.importorskip("pandas")
    run = gevent_run(10_000, failures=3)
    frame = run.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 10_000
    assert {"url", "status", "start", "end", "duration", "queued", "task", "error", "ok"} <= set(frame.columns)
    assert frame["ok"].sum() == 9_997
    assert len(run.to_dataframe("events")) == len(run.events)
    assert list(run.to_dataframe("tasks")["name"])[:1] == [run.tasks[0].name]
    with pytest.raises(ValueError):
        run.to_dataframe("nonsense")


def test_mimebundle_is_html_and_text():
    bundle = gevent_run(3)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/html"].startswith('<div class="gtm-report" style=')


def test_requests_open_at_once_on_one_lane_get_a_row_each():
    """The essay's Tornado example: the cell itself fetches three URLs at once."""
    requests = [
        Request(f"{BASE}/delay/{d}", status=200, nbytes=14, start=0.001 * i, end=d, task="cell")
        for i, d in enumerate((0.5, 0.3, 0.4))
    ]
    requests.append(Request(f"{BASE}/delay/0.1", status=200, start=0.6, end=0.7, task="cell"))
    run = Run(model="tornado", source="", wall=0.71, requests=requests)
    lanes = {lane.name: [m for m in lane.marks if m.kind == "request"] for lane in build_timeline(run).lanes}
    assert list(lanes) == ["cell", "cell · 2", "cell · 3", "loop"]
    # Three overlapping requests take three rows; the later one reuses the first free row.
    assert [len(lanes[name]) for name in ("cell", "cell · 2", "cell · 3")] == [2, 1, 1]


# Legibility on a projector


def test_urls_on_one_server_are_relative_to_it_and_the_server_is_named_once():
    html = render_html(gevent_run(3))
    assert f"by start time, to {BASE}</summary>" in html
    assert ">GET /delay/0.2?i=0<" in html, "the request column shows the path"
    visible = re.sub(r'<title>.*?</title>|title="[^"]*"', "", html)
    assert visible.count(BASE) == 1, "the server appears once, where it is named (and in hover titles)"
    mixed = gevent_run(2)
    mixed.requests[1].url = "http://example.com/x"
    assert ">GET http://example.com/x<" in render_html(mixed), "requests to several servers keep their URLs"


def test_identical_blocking_findings_are_one_line_with_a_count():
    run = gevent_run(3)
    hint = "time.sleep blocks every greenlet: use gevent.sleep"
    run.blocking = [Blocking(0.01 + i * 0.3, 0.301 + i * 0.001, run.tasks[i].name, 4, hint) for i in range(3)]
    findings = blocking_findings(run)
    assert [f.text for f in findings] == [
        "3 greenlets held the loop for 301 ms–303 ms each at line 4 (with urllib.request.urlopen(url) as r:)"
    ]
    html = render_html(run)
    assert html.count("blocked: ") == 1
    assert f"<summary><span" in html and escape_text(hint) in html, "the hint is one click away"


def escape_text(text: str) -> str:
    from html import escape

    return escape(text)


def test_the_picture_comes_right_under_the_headline():
    run = gevent_run(3, failures=1)
    run.notes = ["A note. " * 30]
    html = render_html(run)
    order = [html.index(part) for part in ('class="gtm-headline"', 'class="gtm-picture"', 'class="gtm-facts"', "A note.")]
    assert order == sorted(order)
    assert '<details class="gtm-meta"><summary>A note.</summary>' in html, "a long note is collapsible"


def test_timeline_text_is_never_smaller_than_the_table_text():
    html = render_html(gevent_run(3))
    svg = ET.fromstring(svg_of(html))
    assert svg.get("font-size") == str(TEXT_PX) and svg.get("style").startswith(f"min-width:{PICTURE_WIDTH}px;")
    assert svg.get("viewBox").split()[2] == str(PICTURE_WIDTH), "one user unit is at least one CSS pixel"
    assert f"font-size:{TEXT_PX}px" in html, "the tables' text size"
    assert not [t for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.get("font-size") or t.get("fill-opacity")]
    assert f'min-width:{PICTURE_WIDTH}px;max-width:' in html.split("<img")[1], "the image fallback is not shrunk either"


def test_what_survives_a_sanitizer_is_said_in_inline_styles():
    html = render_html(gevent_run(3, failures=1))
    assert '<div class="gtm-headline" style="font-size:18px;font-weight:bold' in html
    assert '<tr class="gtm-failed" style="color:#b3261e;background-color:#fdeceb">' in html
    cells = re.findall(r"<t[dh]( [^>]*)?>", html)
    assert cells and all("text-align:" in (attrs or "") for attrs in cells), "every cell says its alignment"
    assert "word-break:break-all" in html and "overflow-wrap:break-word" in html, "long URLs and errors wrap"


def test_sequential_and_threaded_runs_have_no_loop_lane_and_no_trace_counts():
    run = gevent_run(2)
    run.model, run.events, run.tasks, run.patching = "threads", [], [], None
    for i, request in enumerate(run.requests):
        request.task = f"ThreadPoolExecutor-0_{i}"
    assert [lane.name for lane in build_timeline(run).lanes] == ["ThreadPoolExecutor-0_0", "ThreadPoolExecutor-0_1"]
    assert "callbacks" not in facts(summarize(run), run) and "tasks" not in facts(summarize(run), run)
