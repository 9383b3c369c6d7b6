"""The replay's storyboard and --predict's questions in headless Chromium: untrusted, light and dark, nbconvert.

Same method as ``test_render_browser.py``: pages written as each host shows
an output, screenshots compared with and without a part, to see it drawn.
"""

from __future__ import annotations

import pytest

from geventtornado_magics.study.player import PLAYER_TEXT, WIDGET
from geventtornado_magics.study.predict import Quiz, questions
from geventtornado_magics.render.replay import PLAYHEAD, storyboard_bundle

from .test_render import gevent_run, tornado_run
from .test_render_browser import (  # noqa: F401 - browser is a fixture
    CHROMIUM,
    Tags,
    browser,
    changed,
    jupyterlab_untrusted,
    near,
    page,
    screenshot,
    with_css,
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium")

PLAYHEAD_RGB = tuple(int(PLAYHEAD[i : i + 2], 16) for i in (1, 3, 5))


def storyboard(run) -> str:
    return storyboard_bundle(run.replay())["text/html"]


def quiz(run) -> str:
    run.questions = questions(run)
    return Quiz(run)._repr_mimebundle_()["text/html"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_untrusted_storyboard_shows_the_timeline_with_its_playheads_and_the_frames(browser, tmp_path, theme):
    run = gevent_run(3)
    html = jupyterlab_untrusted(storyboard(run))
    assert "▶" in html and html.count("gtm-frame") == len(run.replay().key_steps())
    shown = screenshot(browser, page(html, theme), tmp_path / "shown.png", size="1100,1600")
    no_image = screenshot(browser, page(html, theme, "img{visibility:hidden}"), tmp_path / "no-image.png", size="1100,1600")
    pixels, box = changed(shown, no_image)
    assert pixels > 10_000, "the timeline survives the sanitizer, as an image"
    assert near(shown, box, PLAYHEAD_RGB, tolerance=20) > 300, "with a playhead per key step"
    no_frames = screenshot(
        browser, page(html, theme, ".gtm-frame{visibility:hidden}"), tmp_path / "no-frames.png", size="1100,1600"
    )
    assert changed(shown, no_frames)[0] > 20_000, "the frames are drawn, text on the page's own colours"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_untrusted_questions_hide_their_answers_until_opened_without_script(browser, tmp_path, theme):
    run = tornado_run(3, max_clients=3)
    html = jupyterlab_untrusted(quiz(run))
    assert "<script" not in html and html.count("<details><summary>answer</summary>") == len(run.questions)
    closed = screenshot(browser, page(html, theme), tmp_path / "closed.png")
    opened = screenshot(browser, page(html.replace("<details>", "<details open>"), theme), tmp_path / "opened.png")
    assert changed(closed, opened)[0] > 2_000, "answers and the report appear when opened"
    answers_removed = html
    for question in run.questions:
        answers_removed = answers_removed.replace(question.why.replace("'", "&#x27;"), "")
    gone = screenshot(browser, page(answers_removed, theme), tmp_path / "gone.png")
    assert changed(closed, gone)[0] == 0, "closed, no answer shows"


def test_nbconvert_shows_the_storyboard_not_the_widget(browser, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    run = gevent_run(3)
    # As a live kernel sends them: the player, then the storyboard; no widget state saved.
    player = {WIDGET: {"version_major": 2, "version_minor": 0, "model_id": "0" * 32}, "text/plain": PLAYER_TEXT}
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("geventtornado_magics.last_run().replay()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=player),
        nbformat.v4.new_output("display_data", data=storyboard_bundle(run.replay())),
    ]
    notebook.cells = [cell]
    html, _ = nbconvert.HTMLExporter(template_name="lab").from_notebook_node(notebook)
    assert "Replay of %%gevent" in html and "0" * 32 not in html and "Replay player: run the cell again" in html
    shown = screenshot(browser, html, tmp_path / "nbconvert.png", size="1100,1600")
    hidden = screenshot(browser, with_css(html, ".gtm-replay img{visibility:hidden}"), tmp_path / "hidden.png", size="1100,1600")
    pixels, box = changed(shown, hidden)
    assert pixels > 10_000 and near(shown, box, PLAYHEAD_RGB, tolerance=20) > 300
