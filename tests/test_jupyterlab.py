"""The report in a real JupyterLab, driven by Playwright in Debian's Chromium.

JupyterLab (from the test extra) runs on 127.0.0.1 with a token, in fresh
Jupyter directories: a notebook copied there has no signature in its notary
database, so Lab opens it **untrusted** (sanitized HTML, as when a student
opens a notebook from GitHub or a colleague). Running all its cells and
saving it makes it **trusted**. The tour and the gevent lesson (failures,
pools, timeouts) are checked both ways, in the light and the dark theme, at
1024 px and 1920 px wide, and the tour on a 1280×720 projector at 150 % zoom:

* every magic cell shows its report;
* the timeline's text on screen is at least the size of the tables' text;
* no table is wider than its report, no report wider than the output area;
* the headline is bold, name columns aligned left and failures red, untrusted too;
* every visible text in a report, details opened, reaches 4.5:1 contrast
  against what is behind it (WCAG AA);
* untrusted, the timeline's image is a light card in the light theme and a
  dark one in the dark theme (with the browser preferring dark);
* after the toolbar's interrupt button stops a cell, the next cell runs.

Screenshots are kept in ``out/jupyterlab/``. Playwright cannot download its
own browser here; it drives ``/usr/bin/chromium``.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from geventtornado_magics.render.svg import TEXT_PX
from geventtornado_magics.render.svg import WIDTH as PICTURE_WIDTH

playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
Image = pytest.importorskip("PIL.Image", reason="needs pillow (the test extra)")
ImageStat = pytest.importorskip("PIL.ImageStat")
pytest.importorskip("jupyterlab", reason="needs jupyterlab (the test extra)")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "out" / "jupyterlab"
NOTEBOOKS = ["01_seed_tour.ipynb", "02_gevent_lessons.ipynb"]
WIDTHS = {"1024": {"width": 1024, "height": 768}, "1920": {"width": 1920, "height": 1080}}
#: A 1280×720 projector at 150 % zoom: 853×480 CSS pixels, each 1.5 device pixels.
PROJECTOR = {"viewport": {"width": 853, "height": 480}, "device_scale_factor": 1.5}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
#: Contrast WCAG AA asks of body text.
AA = 4.5

pytestmark = [
    pytest.mark.slow,
    pytest.mark.kernel,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium: apt-get install chromium"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server of its own: fresh settings, notary and runtime directories."""

    def __init__(self, home: Path):
        self.root = home / "notebooks"
        self.root.mkdir()
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR"):
            env[name] = str(home / name.lower())
        self.settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.root_dir={self.root}",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                # No look-ups on PyPI: the extension manager only lists what is installed.
                "--LabApp.extension_manager=readonly",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(home / "lab.log").open("w"),
        )
        self.settle("light")
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start: " + (home / "lab.log").read_text()[-2000:]) from None
                time.sleep(0.5)

    def settle(self, theme: str) -> None:
        """Lab's settings for the next page load: the theme, and every cell laid out (no windowing)."""
        settings = {
            "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": THEMES[theme]},
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                                "checkForUpdates": False},
        }
        for name, values in settings.items():
            path = self.settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def page_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("jupyterlab")
    server = Lab(home)
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "examples" / name, server.root / name)
        shutil.copy(ROOT / "examples" / name, server.root / f"untrusted_{name}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


#: Measures every report on the page, with its <details> opened. Contrast composites
#: each text's colour (and the opacities above it) over the backgrounds behind it.
MEASURE = """([textPx, pictureWidth]) => {
  const rgba = c => { const m = c && c.match(/rgba?\\(([^)]*)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3])).concat([1]);
  const lum = c => c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const chain = el => { const out = []; for (let e = el; e; e = e.parentElement) out.push(e); return out.reverse(); };
  const background = el => chain(el).reduce((bg, e) => { const c = rgba(getComputedStyle(e).backgroundColor);
    return c && c[3] > 0 ? over(c, bg) : bg; }, [255, 255, 255, 1]);
  const opacity = el => chain(el).reduce((o, e) => o * parseFloat(getComputedStyle(e).opacity || 1), 1);
  const shown = el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) && el.getClientRects().length
    && !(el.closest('.gtm-live') && el.closest('.gtm-live').clientHeight === 0);
  const result = {reports: 0, magicCells: 0, reportCells: 0, timelinePx: [], tablePx: [], overflow: [], lowContrast: [],
                  texts: 0, lostEmphasis: []};
  for (const cell of document.querySelectorAll('.jp-Notebook .jp-CodeCell')) {
    const source = (cell.querySelector('.jp-InputArea-editor .cm-line') || {}).textContent || '';
    if (/^%%(gevent|tornado)/.test(source)) {
      result.magicCells += 1;
      if (cell.querySelector('.jp-OutputArea .gtm-report')) result.reportCells += 1;
    }
  }
  for (const report of document.querySelectorAll('.jp-OutputArea .gtm-report')) {
    result.reports += 1;
    report.querySelectorAll('details').forEach(d => { d.open = true; });
    const headline = report.querySelector('.gtm-headline');
    if (parseInt(getComputedStyle(headline).fontWeight) < 600) result.lostEmphasis.push('headline not bold');
    for (const cell of report.querySelectorAll('td[style*="text-align:left"]')) {
      if (getComputedStyle(cell).textAlign !== 'left') { result.lostEmphasis.push('a name cell not aligned left'); break; }
    }
    for (const row of report.querySelectorAll('tr.gtm-failed, .gtm-error, .gtm-blocking span')) {
      const [r, g, b] = getComputedStyle(row).color.match(/\\d+/g).map(Number);
      if (!(r > g + 60 && r > b + 60)) { result.lostEmphasis.push('a failure not in red'); break; }
    }
    const area = report.closest('.jp-OutputArea-output').getBoundingClientRect();
    const box = report.getBoundingClientRect();
    if (box.right > area.right + 1) result.overflow.push(`report ${Math.round(box.width)} px in ${Math.round(area.width)}`);
    for (const table of report.querySelectorAll('table')) {
      if (!shown(table)) continue;
      const t = table.getBoundingClientRect();
      if (t.right > box.right + 1) result.overflow.push(`table ${Math.round(t.width)} px in a ${Math.round(box.width)} px report`);
      for (const cell of table.querySelectorAll('td, th')) result.tablePx.push(parseFloat(getComputedStyle(cell).fontSize));
    }
    for (const text of report.querySelectorAll('svg.gtm-timeline text')) {
      if (shown(text)) result.timelinePx.push(parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a);
    }
    for (const img of report.querySelectorAll('.gtm-fallback img')) {
      if (shown(img)) result.timelinePx.push(textPx * img.getBoundingClientRect().width / pictureWidth);
    }
    const walker = document.createTreeWalker(report, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!node.textContent.trim() || seen.has(el) || el.closest('style, title') || !shown(el)) continue;
      seen.add(el);
      result.texts += 1;
      const style = getComputedStyle(el);
      const svg = el instanceof SVGElement;
      const colour = rgba(svg ? style.fill : style.color);
      if (!colour) continue;
      colour[3] *= (svg ? parseFloat(style.fillOpacity) : 1) * opacity(el);
      const behind = background(el);
      const r = ratio(over(colour, behind), behind);
      if (r < 4.5) result.lowContrast.push(`${r.toFixed(2)}: ${node.textContent.trim().slice(0, 50)}`);
    }
  }
  return result;
}"""


def open_notebook(page, lab: Lab, notebook: str) -> None:
    page.goto(lab.page_url(notebook))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=60_000)
    page.wait_for_function("() => document.querySelector('.jp-Notebook').getAttribute('data-jp-kernel-user') !== null"
                           " || document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > 0")


def busy(page) -> bool:
    prompts = page.eval_on_selector_all(".jp-Notebook .jp-InputArea-prompt", "ps => ps.map(p => p.textContent)")
    return any("*" in prompt for prompt in prompts)


def running(page) -> bool:
    return busy(page) or page.locator(".jp-Notebook-ExecutionIndicator[data-status='busy']").count() > 0


def wait_idle(page, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    # A busy machine's kernel may take seconds to start on what it was sent: idle before then is not done.
    starts_by = time.monotonic() + 20
    while not running(page) and time.monotonic() < starts_by:
        time.sleep(0.25)
    while running(page):
        assert time.monotonic() < deadline, "the notebook's cells did not finish"
        time.sleep(0.5)


def menu(page, title: str, item: str) -> None:
    """Choose ``item`` from the menu bar's ``title`` menu, as a teacher would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=title).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def check(page, label: str, size: dict) -> dict:
    page.set_viewport_size(size)
    page.wait_for_timeout(300)
    measured = page.evaluate(MEASURE, [TEXT_PX, PICTURE_WIDTH])
    # The screenshot: the first report's headline at the top.
    page.evaluate("() => document.querySelector('.jp-OutputArea .gtm-report').scrollIntoView()")
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / f"{label}.png"), full_page=False)
    assert measured["magicCells"] and measured["reportCells"] == measured["magicCells"], f"{label}: {measured}"
    assert measured["timelinePx"], f"{label}: no timeline on screen"
    smallest, table = min(measured["timelinePx"]), max(measured["tablePx"])
    assert smallest >= table - 0.05, f"{label}: timeline text {smallest:.1f} px, table text {table:.1f} px"
    assert not measured["overflow"], f"{label}: {measured['overflow']}"
    assert not measured["lostEmphasis"], f"{label}: {measured['lostEmphasis']}"
    assert measured["texts"] > 20 and not measured["lowContrast"], f"{label}: {measured['lowContrast']}"
    if "untrusted" in label:
        image = page.locator(".gtm-fallback img").first
        image.scroll_into_view_if_needed()
        brightness = ImageStat.Stat(Image.open(io.BytesIO(image.screenshot())).convert("L")).mean[0]
        dark = "dark" in label
        assert (brightness < 90) if dark else (brightness > 170), f"{label}: the image's card, brightness {brightness:.0f}"
    return {"timeline": round(smallest, 1), "table": table}


def interrupt_then_next_cell_runs(page) -> None:
    """A cell waiting 30 s is stopped by the toolbar's interrupt button; the cell after it runs."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type("%%gevent\nimport gevent\nprint('sleeping')\ngevent.sleep(30)")
    page.keyboard.press("Shift+Enter")
    cells = page.locator(".jp-Notebook .jp-CodeCell")

    def cell(source: str):
        return cells.filter(has=page.locator(".cm-content", has_text=source)).last

    stopped = cell("gevent.sleep(30)")
    # Interrupt once the cell is in its sleep, not before it starts: a busy machine may take seconds to get there.
    stopped.locator(".jp-OutputArea-output", has_text="sleeping").wait_for(timeout=60_000)
    started = time.monotonic()
    page.locator("[data-command='notebook:interrupt-kernel']").first.click()
    stopped.locator(".jp-OutputArea .gtm-report").wait_for(timeout=25_000)
    assert "KeyboardInterrupt" in stopped.inner_text()
    assert time.monotonic() - started < 25, "the report came no sooner than the 30 s sleep would have ended"
    cells.last.locator(".cm-content").click()
    page.wait_for_timeout(300)
    page.keyboard.type("6 * 7")
    page.keyboard.press("Shift+Enter")
    cell("6 * 7").locator(".jp-OutputArea-output", has_text="42").wait_for(timeout=60_000)


def test_reports_in_jupyterlab_trusted_and_untrusted_light_and_dark(lab, chromium):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for theme in THEMES:
        lab.settle(theme)
        # A dark theme, as most who choose it, on a browser that prefers dark: the image fallback follows.
        page = chromium.new_page(viewport=WIDTHS["1024"], color_scheme=theme)
        for name in NOTEBOOKS:
            stem = name.removesuffix(".ipynb")
            open_notebook(page, lab, f"untrusted_{name}")
            for width, size in WIDTHS.items():
                sizes[f"{stem}-untrusted-{theme}-{width}"] = check(page, f"{stem}-untrusted-{theme}-{width}", size)
            open_notebook(page, lab, name)
            if theme == "light":  # run once; saving signs the notebook, so Lab trusts it when it opens again
                page.set_viewport_size(WIDTHS["1024"])
                menu(page, "Run", "Run All Cells")
                wait_idle(page)
                if name == NOTEBOOKS[0]:
                    interrupt_then_next_cell_runs(page)
                menu(page, "File", "Save Notebook")
                page.wait_for_timeout(1_000)
            for width, size in WIDTHS.items():
                sizes[f"{stem}-trusted-{theme}-{width}"] = check(page, f"{stem}-trusted-{theme}-{width}", size)
        page.close()
    projector = chromium.new_page(**PROJECTOR)
    lab.settle("light")
    open_notebook(projector, lab, NOTEBOOKS[0])
    # On a projector the file browser is closed (Ctrl+B): 853 CSS pixels are too few for both.
    projector.locator(".jp-Notebook .jp-Cell").first.click()
    projector.keyboard.press("Escape")
    projector.keyboard.press("Control+b")
    projector.locator("#jp-left-stack").wait_for(state="hidden")
    sizes["projector"] = check(projector, "01_seed_tour-projector-1280x720-150", PROJECTOR["viewport"])
    projector.close()
    (ARTIFACTS / "sizes.json").write_text(json.dumps(sizes, indent=1))
