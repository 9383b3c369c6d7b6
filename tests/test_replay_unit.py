"""Replay and predict on constructed Runs and on cells run in-process: the steps, the questions, the views."""

from __future__ import annotations

import base64
import re

import pytest
from IPython.utils.capture import capture_output

import geventtornado_magics
from geventtornado_magics.study.predict import questions
from geventtornado_magics.render.replay import frame_html, storyboard_html, storyboard_text
from geventtornado_magics.run import Blocking, Event, Request, Run, Task

from .test_render import HOSTILE, Tags, gevent_run, hostile_run, tornado_run

ESSAY_TORNADO = """from tornado import ioloop
from tornado.httpclient import AsyncHTTPClient

def print_head(response):
    print('%s: %s bytes' % (response.effective_url, len(response.body)))

http_client = AsyncHTTPClient()
for url in [base + '/delay/0.5', base + '/delay/0.3', base + '/delay/0.4']:
    print('Starting %s' % url)
    http_client.fetch(url, print_head)
ioloop.IOLoop.instance().start()"""

ESSAY_GEVENT = """import gevent
from gevent import monkey
monkey.patch_all()
import urllib.request

def print_head(url):
    print('Starting %s' % url)
    data = urllib.request.urlopen(url).read()
    print('%s: %s bytes: %r' % (url, len(data), data[:50]))

jobs = [gevent.spawn(print_head, base + '/delay/0.5') for _ in range(3)]
gevent.joinall(jobs)"""

BLOCKING_GEVENT = """import gevent, time

def nap(seconds):
    time.sleep(seconds)

jobs = [gevent.spawn(nap, 0.2) for _ in range(2)]
gevent.joinall(jobs)"""


def cell(ip, demo_url, magic, body):
    """Run a magic cell like a notebook; return the run and what it displayed."""
    ip.user_ns["base"] = demo_url
    with capture_output() as captured:
        ip.run_cell(f"%%{magic}\n{body}", store_history=True)
    return geventtornado_magics.last_run(), captured.outputs


def answer_of(run: Run, starts: str):
    return next(q for q in run.questions if q.text.startswith(starts)).answer


# The steps


def test_one_step_per_event_in_order_with_who_runs_and_where():
    run = gevent_run(3)
    steps = run.replay().steps
    assert len(steps) == len(run.events)
    assert [s.time for s in steps] == [e.time for e in run.events]
    assert [s.running for s in steps] == [e.target for e in run.events]
    # A greenlet resumed by the hub runs on from the line where it last waited.
    fetcher = run.tasks[0].name
    resumed = [s for s in steps if s.running == fetcher]
    assert resumed[0].line is None  # its first start
    assert resumed[1].line == 4
    assert steps[-1].running == "cell" and steps[-1].line == 7


def test_waiting_names_the_request_the_join_and_the_greenlets_not_started():
    run = gevent_run(3)
    steps = run.replay().steps
    first = steps[0]  # the cell has just switched to the hub at joinall
    assert first.running == "hub"
    assert first.waiting["cell"].kind == "join" and "joinall" in first.waiting["cell"].what
    assert {first.waiting[t.name].kind for t in run.tasks} == {"ready"}
    everyone_waits = max(steps, key=lambda s: len(s.in_flight))
    for task, request in zip(run.tasks, run.requests, strict=True):
        wait = everyone_waits.waiting[task.name]
        assert wait.kind == "request" and wait.what == f"GET /delay/0.2?i={run.requests.index(request)}"
    assert len(everyone_waits.in_flight) == 3


def test_finished_greenlets_leave_the_waiting_and_the_hub_is_ready():
    run = gevent_run(2)
    last = run.replay().steps[-1]
    assert last.running == "cell"
    assert last.waiting == {"hub": last.waiting["hub"]}
    assert last.waiting["hub"].kind == "ready"
    assert last.in_flight == []


def test_tornado_steps_run_the_task_whose_callback_ran_at_its_line():
    run = tornado_run(4, max_clients=2)
    replay = run.replay()
    assert [s.running for s in replay.steps] == [e.source for e in run.events]
    assert [s.line for s in replay.steps] == [e.line for e in run.events]
    first, third = run.tasks[0].name, run.tasks[2].name
    starting = next(s for s in replay.steps if s.running == first)
    assert starting.waiting[third].kind == "ready"  # its first step has not run yet
    # When the first resumes with its response, the third has its own request open (it was queued).
    resuming = [s for s in replay.steps if s.running == first][1]
    assert resuming.waiting[third].kind == "request"


def test_a_sleeping_lane_waits_on_a_timer_and_one_at_a_queue_on_the_queue():
    source = "import gevent\nq = gevent.queue.Queue()\ndef a():\n    gevent.sleep(1)\ndef b():\n    q.get()\ngevent.joinall([gevent.spawn(a), gevent.spawn(b)])"
    tasks = [Task("a", 1, spawned=0.0, start=0.001, end=None), Task("b", 2, spawned=0.0, start=0.002, end=None)]
    events = [
        Event(0.0005, "switch", "cell", "hub", "waits", 7),
        Event(0.001, "switch", "hub", "a", "resumed"),
        Event(0.0015, "switch", "a", "hub", "waits", 4),
        Event(0.002, "switch", "hub", "b", "resumed"),
        Event(0.0025, "switch", "b", "hub", "waits", 6),
    ]
    run = Run("gevent", source=source, wall=0.01, tasks=tasks, events=events)
    waiting = run.replay().steps[-1].waiting
    assert waiting["a"].kind == "timer" and waiting["a"].what == "line 4: gevent.sleep(1)"
    assert waiting["b"].kind == "lock/queue"
    assert waiting["cell"].kind == "join"


def test_next_request_event_jumps_to_the_step_after_a_request_starts_or_ends():
    run = gevent_run(3, delay=0.2)
    replay = run.replay()
    first_end = min(r.end for r in run.requests)
    start_of_last = max(r.start for r in run.requests)
    index = next(i for i, s in enumerate(replay.steps) if s.time > start_of_last)
    jumped = replay.next_request_event(index)
    assert replay.steps[jumped].time >= first_end
    assert replay.steps[jumped - 1].time < first_end
    assert replay.next_request_event(len(replay.steps) - 1) is None


def test_key_steps_begin_and_end_the_run_and_mark_the_first_finish_and_the_peak():
    run = gevent_run(3)
    replay = run.replay()
    keys = replay.key_steps()
    assert keys[0].index == 0 and keys[-1].index == len(replay.steps) - 1
    whys = " | ".join(k.why for k in keys)
    assert "the first request finishes: /delay/0.2?i=0" in whys
    assert "the most requests in flight: 3" in whys
    assert [k.index for k in keys] == sorted({k.index for k in keys})


def test_a_run_without_events_replays_as_nothing_to_step():
    run = Run("gevent", source="x = 1", wall=0.001)
    replay = run.replay()
    assert replay.steps == [] and replay.key_steps() == []
    assert "Nothing to replay" in storyboard_html(replay)


# The views


def test_storyboard_is_frames_and_an_image_with_no_script_svg_or_style():
    run = gevent_run(3)
    html = storyboard_html(run.replay())
    tags = {tag for tag, _ in Tags(html).tags}
    assert not tags & {"script", "svg", "style"}
    assert len(re.findall(r'class="gtm-frame"', html)) == len(run.replay().key_steps())
    image = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)).decode()
    assert image.count('stroke="#d6336c"') == len(run.replay().key_steps())  # a playhead per frame


def test_a_frame_marks_the_running_line_without_needing_styles():
    run = gevent_run(2)
    replay = run.replay()
    html = frame_html(replay, len(replay.steps) - 1)
    marked = re.search(r"<b style=[^>]*>(.*?)</b>", html).group(1)
    assert marked.startswith("▶") and "gevent.joinall(jobs)" in marked


def test_storyboard_escapes_what_the_cell_and_server_said():
    html = storyboard_html(hostile_run().replay())
    assert not {tag for tag, _ in Tags(html).tags} & {"script", "svg", "style"}
    for text in HOSTILE:
        assert text not in html


def test_storyboard_text_lists_the_key_steps():
    text = storyboard_text(gevent_run(3).replay())
    assert text.startswith("Replay of %%gevent:")
    assert "waits on request: GET /delay/0.2?i=1" in text


def test_storyboard_of_ten_thousand_requests_stays_under_a_megabyte():
    run = gevent_run(10_000, delay=0.5)
    html = storyboard_html(run.replay())
    assert len(html.encode()) < 1_000_000
    assert "and 9,9" in html  # the lanes past the first few are counted, not listed


# The questions


def test_every_answer_is_one_of_its_choices_and_there_are_three_to_five():
    for run in (gevent_run(3), tornado_run(6), gevent_run(1), hostile_run()):
        asked = questions(run)
        assert 3 <= len(asked) <= 5
        for q in asked:
            assert q.answer in q.choices and len(set(q.choices)) == len(q.choices) >= 2


def test_the_time_question_answers_the_longest_request_for_overlapping_requests():
    run = gevent_run(3, delay=0.5)
    q = next(q for q in questions(run) if "how long" in q.text)
    assert q.answer == "about 500 ms"
    assert "about 1.50 s" in q.choices  # the sequential sum


def test_the_blocking_question_follows_run_blocking():
    run = gevent_run(2)
    q = next(q for q in questions(run) if "block" in q.text)
    assert q.answer.startswith("no")
    run.blocking = [Blocking(0.01, 0.2, run.tasks[0].name, 4, "use gevent.sleep")]
    q = next(q for q in questions(run) if "block" in q.text)
    assert q.answer.startswith("yes") and "line 4" in q.why


def test_the_essays_tornado_example_finishes_the_shortest_request_first(ip, demo_url):
    body = ESSAY_TORNADO
    run, outputs = cell(ip, demo_url, "tornado --predict", body)
    assert answer_of(run, "In which order") == "/delay/0.3 → /delay/0.4 → /delay/0.5"
    assert answer_of(run, "At most") == "3"
    assert answer_of(run, "About how long") == f"about {geventtornado_magics.render.units.seconds(max(r.duration for r in run.requests))}"
    assert answer_of(run, "At which line").startswith("line 11: ioloop.IOLoop.instance().start()")
    assert answer_of(run, "Does anything block").startswith("yes" if run.blocking else "no")
    # One display: the questions first, the report closed after them.
    (shown,) = outputs
    html = shown.data["text/html"]
    assert html.index("In which order") < html.index("<details><summary><b>The report</b>") < html.index("gtm-report")
    assert html.count("<details><summary>answer</summary>") == len(run.questions)


def test_a_gevent_cell_that_sleeps_in_its_greenlets_blocks_the_loop_at_the_sleep(ip, demo_url):
    run, _ = cell(ip, demo_url, "gevent --predict", BLOCKING_GEVENT)
    assert answer_of(run, "Does anything block").startswith("yes")
    assert answer_of(run, "At which line").startswith("line 7: gevent.joinall(jobs)")
    assert "(time.sleep(seconds))" in next(q.why for q in run.questions if "block" in q.text)


def test_replay_option_shows_the_report_then_the_storyboard_in_process(ip, demo_url):
    run, outputs = cell(ip, demo_url, "gevent --replay", ESSAY_GEVENT)
    report, replay = outputs
    assert "gtm-report" in report.data["text/html"]
    assert "Replay of %%gevent" in replay.data["text/html"]
    # No kernel, so no widget: the storyboard is all there is.
    assert "application/vnd.jupyter.widget-view+json" not in replay.data
    assert run.questions == []


def test_the_storyboard_names_lanes_relative_to_the_server_as_the_report_does(ip, demo_url):
    _, (report, replay) = cell(ip, demo_url, "gevent --replay", ESSAY_GEVENT)
    for shown in (replay.data["text/html"], replay.data["text/plain"]):
        assert "print_head(&#x27;/delay/0.5&#x27;)" in shown or "print_head('/delay/0.5')" in shown
        assert demo_url not in shown and demo_url.split("://")[1] not in shown


@pytest.mark.parametrize("magic", ["gevent", "tornado"])
def test_unknown_option_next_to_the_new_ones_is_still_a_usage_error(ip, magic):
    with capture_output() as captured:
        ip.run_cell(f"%%{magic} --predict --replay --bogus\nx = 1")
    assert "usage:" in captured.stdout + captured.stderr


def test_predict_with_compare_asks_about_the_first_run_and_keeps_the_comparison_closed(ip, demo_url):
    run, outputs = cell(ip, demo_url, "gevent --predict --compare", ESSAY_GEVENT)
    (shown,) = outputs
    html = shown.data["text/html"]
    assert run.questions and html.index("About how long") < html.index("The report</b>")
    assert "without patching" in html[html.index("The report</b>") :]
    assert answer_of(run, "At most") == "3"  # the run as written, not the one without patching
