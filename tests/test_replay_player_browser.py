"""The replay player in a real browser: a notebook served live by Voilà, clicked in headless Chromium.

Voilà runs the notebook in a fresh ipykernel and renders its ipywidgets with
the widget manager it ships (no network); Playwright drives Debian's Chromium.
This is the player as a class sees it: buttons that step the frame, the step
numbers, the playhead on the timeline.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import nbformat
import pytest

from .test_render_browser import near
from .test_replay_browser import PLAYHEAD_RGB

pytest.importorskip("voila", reason="the live player is served by Voilà")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser is driven by Playwright")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium"),
]

CELL = """%%gevent --replay
import gevent
from gevent import monkey
monkey.patch_all()
import urllib.request

def print_head(url):
    data = urllib.request.urlopen(url).read()

jobs = [gevent.spawn(print_head, base + '/delay/' + d) for d in ('0.5', '0.3', '0.4')]
gevent.joinall(jobs)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """The URL of a notebook with a --replay cell, served by Voilà on 127.0.0.1."""
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext geventtornado_magics\nbase = %demo_server"),
            nbformat.v4.new_code_cell(CELL),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(notebook, tmp_path / "player.ipynb")
    port = free_port()
    voila = subprocess.Popen(
        [sys.executable, "-m", "voila", "player.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and voila.poll() is None, "Voilà did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        voila.terminate()
        voila.wait(20)


def test_the_player_steps_back_and_forth_and_jumps_in_a_browser(served, tmp_path):
    Image = pytest.importorskip("PIL.Image")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(served, timeout=180_000)
            page.wait_for_selector("text=step ▶", timeout=180_000)
            frame = page.locator(".widget-html-content").first

            def shows(text: str) -> None:
                page.wait_for_function(
                    "text => document.querySelector('.widget-html-content').innerText.includes(text)",
                    arg=text,
                    timeout=30_000,
                )

            shows("step 1 of ")
            page.click("text=step ▶")
            page.click("text=step ▶")
            shows("step 3 of ")
            page.click("text=◀ step back")
            shows("step 2 of ")
            # Jumps land on steps after a request started or ended: one shows it in flight.
            for _ in range(3):
                page.click("text=next request event »")
            shows("in flight: GET /delay/")
            assert "runs" in frame.inner_text()
            player = page.locator(".widget-vbox").first
            player.screenshot(path=str(tmp_path / "player.png"))
        finally:
            browser.close()
    image = Image.open(tmp_path / "player.png").convert("RGB")
    assert near(image, (0, 0, *image.size), PLAYHEAD_RGB, tolerance=24) > 100, "the playhead is drawn on the timeline"
