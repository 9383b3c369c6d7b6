"""Lesson 07 in a real JupyterLab: the replay player live, the storyboard when the player is gone.

Uses ``test_jupyterlab.py``'s server and browser. Three ways a class meets
the lesson:

* **opened untrusted** (from GitHub, a colleague): the questions with their
  answers closed, and the storyboards; where each player was, a line of text;
* **run**: every replay has a player, which steps when its buttons are clicked;
* **saved, kernel shut down, opened again** (trusted now: saving signed it):
  the storyboards still show, under JupyterLab's line for the dead widget.
"""

from __future__ import annotations

import shutil

import pytest

from .test_jupyterlab import ARTIFACTS, ROOT, Lab, busy, chromium, menu, open_notebook, wait_idle  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

LESSON = "07_step_and_predict.ipynb"
#: Magic cells with --predict, and cells that show a replay (three last_run().replay(), one --replay).
PREDICTS, REPLAYS = 3, 4


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("jupyterlab-replay")
    server = Lab(home)
    shutil.copy(ROOT / "examples" / LESSON, server.root / LESSON)
    shutil.copy(ROOT / "examples" / LESSON, server.root / f"untrusted_{LESSON}")
    yield server
    server.stop()


def count(page, selector: str) -> int:
    return page.locator(f".jp-Notebook .jp-OutputArea-output {selector}").count()


def storyboards_shown(page) -> int:
    return page.eval_on_selector_all(
        ".jp-Notebook .jp-OutputArea-output .gtm-replay",
        "els => els.filter(e => e.getBoundingClientRect().height > 200 && e.querySelector('img')).length",
    )


def test_lesson_07_untrusted_live_and_reopened(lab, chromium):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})

    open_notebook(page, lab, f"untrusted_{LESSON}")
    page.wait_for_selector(".gtm-replay", timeout=60_000)
    assert storyboards_shown(page) == REPLAYS
    assert count(page, ".gtm-predict") == PREDICTS
    assert count(page, ".widget-vbox") == 0
    text = page.locator(".jp-Notebook").inner_text()
    assert text.count("Replay player: run the cell again") == REPLAYS
    answer = page.locator(".gtm-question details").first
    assert not answer.evaluate("d => d.open")
    answer.locator("summary").click()
    assert answer.evaluate("d => d.open") and "/delay/0.3" in answer.inner_text()
    page.locator(".gtm-replay").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "07-untrusted.png"))

    open_notebook(page, lab, LESSON)
    menu(page, "Run", "Run All Cells")
    wait_idle(page)
    assert not busy(page)
    page.wait_for_selector(".jp-Notebook .widget-vbox", timeout=60_000)
    assert count(page, ".widget-vbox") == REPLAYS
    player = page.locator(".jp-Notebook .widget-vbox").first
    frame = player.locator(".widget-html-content").first
    assert "step 1 of " in frame.inner_text()
    player.locator("button", has_text="step ▶").click()
    player.locator("button", has_text="step ▶").click()
    page.wait_for_function("el => el.innerText.includes('step 3 of ')", arg=frame.element_handle(), timeout=20_000)
    player.locator("button", has_text="next request event").click()
    page.wait_for_function("el => el.innerText.includes('in flight: GET')", arg=frame.element_handle(), timeout=20_000)
    player.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "07-live-player.png"))
    menu(page, "File", "Save Notebook")
    page.wait_for_timeout(1_000)
    menu(page, "Kernel", "Shut Down Kernel")
    page.wait_for_timeout(2_000)

    open_notebook(page, lab, LESSON)
    page.wait_for_selector(".gtm-replay", timeout=60_000)
    page.wait_for_timeout(3_000)  # the widget manager gives up on the dead players
    assert count(page, ".widget-vbox") == 0
    assert storyboards_shown(page) == REPLAYS, "the storyboards outlive the players"
    page.locator(".gtm-replay").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "07-reopened.png"))
    page.close()
