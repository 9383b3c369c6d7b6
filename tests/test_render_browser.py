"""The report in a real browser: headless Chromium (Debian's ``chromium`` package).

Pages are written from constructed Runs (see ``test_render.py``) in the way
each host shows them: JupyterLab's light and dark themes (its ``--jp-*``
variables set on the page), a notebook converted by nbconvert, and
JupyterLab's sanitizer for an untrusted notebook (simulated with bleach and
JupyterLab's allow-list). A screenshot shows whether the timeline is drawn:
the picture's pixels are the ones that change when it is hidden.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geventtornado_magics.render import mimebundle

from .test_render import Tags, gevent_run, hostile_run, tornado_run

Image = pytest.importorskip("PIL.Image", reason="the screenshot tests count pixels with Pillow")
ImageChops = pytest.importorskip("PIL.ImageChops")

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium")

TITLE = "geventtornado_magics report"
#: JupyterLab's values for the variables the report uses, in its two themes.
THEMES = {
    "light": "background:#fff;color:rgba(0,0,0,.87);--jp-ui-font-color1:rgba(0,0,0,.87);"
    "--jp-ui-font-color2:rgba(0,0,0,.54);--jp-layout-color2:#eee;--jp-border-color2:#e0e0e0;--jp-brand-color1:#1976d2;--jp-error-color1:#d32f2f;"
    "--jp-warn-color1:#f57c00",
    "dark": "background:#111;color:rgba(255,255,255,.87);--jp-ui-font-color1:rgba(255,255,255,.87);"
    "--jp-ui-font-color2:rgba(255,255,255,.54);--jp-layout-color2:#424242;--jp-border-color2:#424242;"
    "--jp-brand-color1:#1976d2;--jp-error-color1:#d32f2f;--jp-warn-color1:#f57c00",
}
#: The request bars' colour: JupyterLab's brand colour when the stylesheet applies, the SVG's own in the image.
THEMED_BLUE, IMAGE_BLUE = (0x19, 0x76, 0xD2), (0x3D, 0x8F, 0xD9)
#: What JupyterLab's sanitizer keeps (packages/apputils/src/sanitizer.ts): no <svg>, no <style>.
JUPYTERLAB_TAGS = {"a", "b", "br", "code", "details", "div", "em", "i", "img", "li", "pre", "span", "strong", "summary",
                   "table", "tbody", "td", "th", "thead", "tr", "ul"}
JUPYTERLAB_ATTRIBUTES = {"*": ["class", "style", "title"], "img": ["src", "alt", "width", "height"], "td": ["colspan"]}
JUPYTERLAB_CSS = ["height", "max-width", "overflow", "overflow-x", "white-space"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run(*args: str) -> str:
        command = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--hide-scrollbars",
            # Screenshot once the page is loaded and laid out, not when a busy machine first paints it.
            "--virtual-time-budget=5000", *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout

    return run


def screenshot(browser, html: str, path: Path, size: str = "1100,900"):
    path.with_suffix(".html").write_text(html, encoding="utf-8")
    browser(f"--screenshot={path}", f"--window-size={size}", path.with_suffix(".html").as_uri())
    return Image.open(path).convert("RGB")


def page(body: str, theme: str = "light", css: str = "") -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{TITLE}</title>'
        f"<style>body{{{THEMES[theme]}}}{css}</style></head><body>{body}</body></html>"
    )


def changed(a, b):
    """The pixels that differ between two screenshots: ``(how many, bounding box)``."""
    mask = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 24 else 0)
    return mask.histogram()[255], mask.getbbox()


def near(image, box, colour, tolerance=16) -> int:
    """How many pixels inside ``box`` are within ``tolerance`` of ``colour`` in each channel."""
    region = image.crop(box)
    bands = ImageChops.difference(region, Image.new("RGB", region.size, colour)).split()
    masks = [band.point(lambda v: 255 if v <= tolerance else 0) for band in bands]
    return ImageChops.darker(ImageChops.darker(masks[0], masks[1]), masks[2]).histogram()[255]


HIDE_PICTURE = ".gtm-picture{visibility:hidden}"


def with_css(html: str, css: str) -> str:
    return html.replace("</head>", f"<style>{css}</style></head>")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_timeline_is_drawn_and_themed(browser, tmp_path, theme):
    reports = mimebundle(gevent_run(3, failures=1))["text/html"] + mimebundle(tornado_run(6))["text/html"]
    shown = screenshot(browser, page(reports, theme), tmp_path / "shown.png")
    hidden = screenshot(browser, page(reports, theme, HIDE_PICTURE), tmp_path / "hidden.png")
    no_image = screenshot(browser, page(reports, theme, ".gtm-fallback{visibility:hidden}"), tmp_path / "no-image.png")
    pixels, box = changed(shown, hidden)
    assert pixels > 20_000, "the timelines are drawn"
    assert box[3] - box[1] > 300, "two pictures, one under the other"
    assert changed(shown, no_image)[0] == 0, "what shows is the live SVG, not the image fallback"
    assert near(shown, box, THEMED_BLUE) > 2_000, "bars take JupyterLab's brand colour"
    if theme == "dark":
        assert near(shown, box, (224, 224, 224), tolerance=24) > 1_000, "light labels and slices on the dark page"
        assert near(shown, box, (255, 255, 255), tolerance=4) < 100, "no white card"


def jupyterlab_untrusted(html: str) -> str:
    """What JupyterLab renders of an untrusted ``text/html`` output, simulated with bleach.

    sanitize-html drops ``<style>`` with its text (a "non-text tag") and
    unwraps tags outside the allow-list, keeping their text: bleach's
    ``strip=True`` does the second, a regular expression the first.
    """
    bleach = pytest.importorskip("bleach")
    css = pytest.importorskip("bleach.css_sanitizer")
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return bleach.clean(
        html,
        tags=JUPYTERLAB_TAGS,
        attributes=JUPYTERLAB_ATTRIBUTES,
        protocols={"http", "https", "data"},
        css_sanitizer=css.CSSSanitizer(allowed_css_properties=JUPYTERLAB_CSS),
        strip=True,
    )


def test_untrusted_notebook_shows_the_image_and_hides_the_stripped_svg(browser, tmp_path):
    report = jupyterlab_untrusted(mimebundle(gevent_run(3, failures=1))["text/html"])
    assert "<svg" not in report and "<img" in report
    shown = screenshot(browser, page(report), tmp_path / "shown.png")
    hidden = screenshot(browser, page(report, css=HIDE_PICTURE), tmp_path / "hidden.png")
    image_hidden = screenshot(browser, page(report, css="img{visibility:hidden}"), tmp_path / "image-hidden.png")
    pixels, box = changed(shown, hidden)
    assert pixels > 10_000, "the picture survives, as the image"
    assert near(shown, box, IMAGE_BLUE, tolerance=12) > 2_000
    leaked, _ = changed(image_hidden, hidden)
    assert leaked == 0, "the text of the stripped SVG stays out of sight"


def test_injected_markup_does_not_run(browser, tmp_path):
    path = tmp_path / "hostile.html"
    path.write_text(page(mimebundle(hostile_run())["text/html"]), encoding="utf-8")
    dom = browser("--dump-dom", path.as_uri())
    assert f"<title>{TITLE}</title>" in dom, "no injected script changed the title"
    elements = Tags(dom).tags
    assert "script" not in {tag for tag, _ in elements}
    assert not [tag for tag, attrs in elements if any(name.startswith("on") for name in attrs)], "no injected handler"
    assert not [attrs for tag, attrs in elements if tag == "img" and attrs.get("src") == "x"]
    assert dom.count("&lt;script&gt;document.title='pwned'&lt;/script&gt;") >= 2, "the strings show as text"


def test_nbconvert_html_shows_the_live_timeline(browser, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%%gevent\ngevent.joinall([gevent.spawn(fetch, u) for u in urls])")
    cell.outputs = [nbformat.v4.new_output("display_data", data=mimebundle(gevent_run(3, failures=1)))]
    notebook.cells = [cell]
    html, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    shown = screenshot(browser, html, tmp_path / "nbconvert.png")
    hidden = screenshot(browser, with_css(html, HIDE_PICTURE), tmp_path / "hidden.png")
    pixels, box = changed(shown, hidden)
    assert pixels > 10_000
    assert near(shown, box, THEMED_BLUE) > 1_000, "nbconvert's lab template keeps the stylesheet: the live SVG"


@pytest.mark.kernel
def test_the_executed_tour_shows_its_timelines(browser, tmp_path):
    """The README's main job: the tour notebook run headless by a real kernel, written as HTML."""
    from .test_examples import EXAMPLES

    sys.path.insert(0, str(EXAMPLES))
    from run_tour import main

    html = main(["--out", str(tmp_path)]).read_text(encoding="utf-8")
    assert "%%tornado: 3 requests" in html and "%%gevent: 3 requests" in html
    shown = screenshot(browser, html, tmp_path / "tour.png", size="1100,2600")
    hidden = screenshot(browser, with_css(html, HIDE_PICTURE), tmp_path / "hidden.png", size="1100,2600")
    pixels, box = changed(shown, hidden)
    assert pixels > 10_000 and near(shown, box, THEMED_BLUE) > 1_000
