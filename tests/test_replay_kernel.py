"""--predict and --replay on both magics in a real ipykernel: what a notebook receives, and the player stepping."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel

WIDGET = "application/vnd.jupyter.widget-view+json"

#: The essay's Tornado example with three different delays.
TORNADO = """\
%%tornado --predict --replay
from tornado import ioloop
from tornado.httpclient import AsyncHTTPClient

def print_head(response):
    print('%s: %s bytes' % (response.effective_url, len(response.body)))

http_client = AsyncHTTPClient()
for url in [DEMO + '/delay/0.5', DEMO + '/delay/0.3', DEMO + '/delay/0.4']:
    print('Starting %s' % url)
    http_client.fetch(url, print_head)
ioloop.IOLoop.instance().start()
"""

#: The essay's gevent example, as written (Python 3).
GEVENT = """\
%%gevent --predict --replay
import gevent
from gevent import monkey
monkey.patch_all()
import urllib.request

def print_head(url):
    print('Starting %s' % url)
    data = urllib.request.urlopen(url).read()
    print('%s: %s bytes: %r' % (url, len(data), data[:50]))

jobs = [gevent.spawn(print_head, DEMO + '/delay/' + d) for d in ('0.5', '0.3', '0.4')]
gevent.joinall(jobs)
"""

ANSWERS = """\
import geventtornado_magics
_run = geventtornado_magics.last_run()
_replay = _run.replay()
print(len(_run.questions), len(_replay.steps) == len(_run.events) > 0, 'blocked' if _run.blocking else 'free')
for _q in _run.questions:
    print(_q.text, '=>', _q.answer, _q.answer in _q.choices)
"""


@pytest.mark.parametrize("cell", [TORNADO, GEVENT], ids=["tornado", "gevent"])
def test_predict_and_replay_show_questions_then_the_player_then_its_storyboard(kernel, cell):
    reply = kernel.ok(cell)
    quiz, player, storyboard = reply.displays
    html = quiz["text/html"]
    assert html.index("1. In which order do the requests finish?") < html.index("The report</b>") < html.index("gtm-report")
    assert "Answers: 1 " in quiz["text/plain"]
    # The player where widgets can show, alone in its output; the storyboard, in its own, for everywhere.
    assert sorted(player) == [WIDGET, "text/plain"] and player[WIDGET]["model_id"]
    assert WIDGET not in storyboard
    assert "Replay of %%" in storyboard["text/html"] and "<script" not in storyboard["text/html"]
    answers = kernel.ok(ANSWERS).stdout
    assert answers.startswith("5 True")
    blocked = answers.split("\n")[0].endswith("blocked")
    assert "In which order do the requests finish? => /delay/0.3 → /delay/0.4 → /delay/0.5 True" in answers
    assert "At most, how many requests are in flight at once? => 3 True" in answers
    # A busy machine can hold the loop past the threshold; the answer says what the run recorded.
    assert f"Does anything block the loop? => {'yes' if blocked else 'no'}" in answers


def test_the_player_steps_back_and_forth_and_jumps_to_request_events(kernel):
    kernel.ok(GEVENT)
    out = kernel.ok(
        "from geventtornado_magics.study.player import make_player\n"
        "_p = make_player(geventtornado_magics.last_run().replay())\n"
        "(_back, _forward, _play, _speed, _jump), _slider, _frame = _p.children[0].children, *_p.children[1:]\n"
        "print('at', _slider.value, 'step 1 of' in _frame.value)\n"
        "_forward.click(); _forward.click(); _back.click()\n"
        "print('at', _slider.value, 'step 2 of' in _frame.value)\n"
        "_jump.click()\n"
        "print('jumped', _slider.value > 2, 'request' in _frame.value, '#d6336c' in _frame.value)\n"
        "_speed.value = 100\n"
        "print('interval', _play.interval)\n"
    ).stdout
    assert out.splitlines() == ["at 1 True", "at 2 True", "jumped True True True", "interval 100"]


def test_without_ipywidgets_the_replay_is_the_storyboard_alone(kernel):
    kernel.ok(TORNADO)
    reply = kernel.ok(
        "import sys\n"
        "from IPython.display import display\n"
        "_saved = sys.modules.get('ipywidgets')\n"
        "sys.modules['ipywidgets'] = None  # as if it were not installed\n"
        "try:\n"
        "    display(geventtornado_magics.last_run().replay())\n"
        "finally:\n"
        "    sys.modules.pop('ipywidgets')\n"
        "    if _saved is not None: sys.modules['ipywidgets'] = _saved\n"
    )
    (storyboard,) = reply.displays
    assert sorted(storyboard) == ["text/html", "text/plain"] and "Replay of %%tornado" in storyboard["text/html"]


def test_only_the_last_players_stay_live_so_old_runs_are_freed(kernel):
    kernel.ok(GEVENT)
    out = kernel.ok(
        "from geventtornado_magics.study.player import MAX_LIVE, make_player\n"
        "_players = [make_player(geventtornado_magics.last_run().replay()) for _ in range(MAX_LIVE + 1)]\n"
        "print([p.comm is None for p in _players].count(True), _players[0].children[2].comm is None, _players[-1].comm is None)\n"
    ).stdout
    assert out.split() == ["1", "True", "False"]
