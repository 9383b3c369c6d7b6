"""The timeline drawn as static SVG: no script, no fonts or images to load.

Every colour is a presentation attribute (``fill="#3d8fd9"``), so the picture
survives where a notebook viewer strips stylesheets (GitHub's renderer, and
JupyterLab for an untrusted notebook). Every element also has a class, so a
stylesheet, where there is one, can retheme it: ``style.py`` maps the classes
to JupyterLab's ``--jp-*`` colours. Text and neutral marks use
``currentColor``, which is dark on a light page and light on a dark one.

``standalone=True`` draws the same picture as an SVG *document* for an
``<img>`` tag: an opaque light card with a fixed size, and no hover titles
(an image shows none).
"""

from __future__ import annotations

from html import escape

from .timeline import Mark, Timeline
from .units import clip, count, seconds

#: The picture's width in user units, and the least it is drawn at in CSS pixels:
#: it is never shrunk, so its text is never smaller than :data:`TEXT_PX` (the report's
#: table text); narrower than that, it scrolls sideways. It fits the notebook of a
#: 1024 px window with the file browser open.
WIDTH = 560
#: The most it is stretched to, in CSS pixels: its text at most about 20 px.
MAX_WIDTH = 880
#: Text size in user units, which are at least a CSS pixel each.
TEXT_PX = 13
LABEL = 170
RIGHT = 16
PLOT = WIDTH - LABEL - RIGHT
AXIS = 24
LANE = 22
STRIP = 74
#: Height of a row of the legend.
LEGEND_ROW = 20
#: Characters of a lane name that fit the labels' column at :data:`TEXT_PX`.
LABEL_CHARS = 20
FONT = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"

#: The image fallback's card and text where the browser prefers a dark scheme.
DARK_CARD = "<style>@media (prefers-color-scheme: dark){svg{color:#e8e8e8}.card{fill:#1e1e1e;stroke:#505050}}</style>"
#: Fill colours that read on light and dark pages alike.
COLOURS = {"request": "#3d8fd9", "failed": "#e5484d", "queued": "#f0a020", "blocked": "#e5484d"}
#: ``(y offset in the lane, height)`` of each kind of mark.
SHAPES = {
    "blocked": (0, 22),
    "alive": (10, 2),
    "queued": (7, 8),
    "request": (7, 8),
    "failed": (7, 8),
    "hub": (4, 14),
    "run": (4, 14),
}
#: Neutral marks: ``currentColor`` at this opacity.
OPACITY = {"alive": 0.3, "hub": 0.3, "run": 1.0, "band": 0.05, "blocked": 0.3}
#: Drawing order: later kinds are drawn over earlier ones. Bars go over the taller
#: running slices, so a busy lane still shows its requests, framed by its slices.
ORDER = ("blocked", "alive", "hub", "run", "queued", "request", "failed")
LEGEND = {
    "blocked": "held the loop",
    "run": "ran",
    "hub": "hub in control (waiting for I/O)",
    "request": "waited on a request",
    "failed": "request failed",
    "queued": "queued for a connection",
}


def render_svg(timeline: Timeline, standalone: bool = False) -> str:
    lanes = timeline.lanes
    plot_bottom = AXIS + LANE * len(lanes) + (STRIP if timeline.strip else 0)
    kinds = {m.kind for lane in lanes for m in lane.marks} | ({"request"} if timeline.strip else set())
    legend, legend_height = _legend(kinds, plot_bottom + 18)
    height = plot_bottom + legend_height
    scale = PLOT / timeline.span
    titles = not standalone

    def x(t: float) -> float:
        return LABEL + max(t, 0.0) * scale

    out = svg_open(height, f"Timeline: {len(lanes)} lanes over {seconds(timeline.span)}", standalone)
    out += [rect("band", 0, AXIS + i * LANE, WIDTH, LANE) for i in range(1, len(lanes), 2)]
    out += axis(timeline.span, x, plot_bottom)
    for i, lane in enumerate(lanes):
        y = AXIS + i * LANE
        name = clip(lane.name, LABEL_CHARS)
        hover = f"<title>{escape(lane.name)}</title>" if titles and name != lane.name else ""
        out.append(f'<text class="gtm-label" x="{LABEL - 8}" y="{y + 15}" text-anchor="end">')
        out.append(f"{hover}{escape(name)}</text>")
        for kind in ORDER:
            out += [_mark(m, x, y, titles) for m in lane.marks if m.kind == kind]
    if timeline.strip:
        out += _strip(timeline, x, AXIS + LANE * len(lanes), titles)
    out += legend
    out.append("</svg>")
    return "".join(out)


def svg_open(height: float, label: str, standalone: bool) -> list[str]:
    """The ``<svg>`` tag; standalone, with a fixed size on an opaque card (an image has no page behind it).

    The card is light, and dark with light text where the browser prefers a
    dark scheme (an image takes the page's ``color-scheme``, or else the
    browser's preference): a sanitized notebook in a dark theme shows no white
    slab. Either way the card is opaque, so the text reads on any page.

    Inline, it fills the report's width but never less than :data:`WIDTH`
    pixels (its container scrolls instead), so its text is never smaller than
    the tables'.
    """
    size = f'width="{WIDTH}" height="{height:.0f}"' if standalone else f'width="100%" style="min-width:{WIDTH}px;max-width:{MAX_WIDTH}px"'
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gtm-timeline" viewBox="0 0 {WIDTH} {height:.0f}" {size} '
        f'role="img" aria-label="{escape(label)}" font-family="{FONT}" font-size="{TEXT_PX}" fill="currentColor">'
    ]
    if standalone:
        out.append(DARK_CARD)
        out.append(f'<rect class="card" width="{WIDTH}" height="{height:.0f}" rx="6" fill="#ffffff" stroke="#d0d0d0"/>')
    return out


def rect(kind: str, x: float, y: float, width: float, height: float, title: str | None = None) -> str:
    """One mark: its class for a stylesheet, its colour as attributes for hosts without one."""
    if kind in COLOURS:
        paint = f'fill="{COLOURS[kind]}"' + (f' fill-opacity="{OPACITY[kind]}"' if kind in OPACITY else "")
    else:
        paint = 'fill="currentColor"' + (f' fill-opacity="{OPACITY[kind]}"' if OPACITY[kind] < 1 else "")
    attrs = f'class="gtm-{kind}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" {paint}'
    return f"<rect {attrs}><title>{escape(title)}</title></rect>" if title else f"<rect {attrs}/>"


def _mark(mark: Mark, x, lane_y: int, titles: bool) -> str:
    dy, height = SHAPES[mark.kind]
    left = x(mark.start)
    width = max(x(mark.end) - left, 1.5 if mark.kind == "run" else 1.0)
    return rect(mark.kind, left, lane_y + dy, width, height, mark.title if titles else None)


def axis(span: float, x, bottom: int) -> list[str]:
    step = tick_step(span)
    out = []
    for k in range(int(span / step + 1e-9) + 1):
        t = k * step
        out.append(
            f'<line class="gtm-grid" x1="{x(t):.1f}" y1="{AXIS - 4}" x2="{x(t):.1f}" y2="{bottom}" '
            f'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text class="gtm-axis" x="{x(t):.1f}" y="{AXIS - 8}" text-anchor="middle">'
            f"{seconds(t) if t else '0'}</text>"
        )
    return out


def tick_step(span: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most 8 ticks over ``span``."""
    step = 1e-6
    while span / step > 8:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10
            step *= factor
            if span / step <= 8:
                break
    return step


def _strip(timeline: Timeline, x, top: int, titles: bool) -> list[str]:
    strip = timeline.strip
    counts = strip.counts
    tallest = max(max(counts), 1)
    width = timeline.span / len(counts)
    floor = top + STRIP - 8
    out = [
        f'<text class="gtm-label" x="{LABEL - 8}" y="{top + 16}" text-anchor="end">requests in flight</text>',
        f'<text class="gtm-axis" x="{LABEL - 8}" y="{top + 32}" text-anchor="end">'
        f"peak {count(strip.peak)} at once</text>",
    ]
    start = 0
    # One bar per run of equal counts: a flat stretch is one element, not many.
    for i in range(1, len(counts) + 1):
        if i < len(counts) and counts[i] == counts[start]:
            continue
        n = counts[start]
        if n:
            h = max(n / tallest * (STRIP - 14), 1.0)
            t0, t1 = start * width, i * width
            title = f"{count(n)} requests open between {seconds(t0)} and {seconds(t1)}" if titles else None
            # A hair wider than the bucket, so neighbouring bars leave no seam.
            out.append(rect("request", x(t0), floor - h, x(t1) - x(t0) + 0.4, h, title))
        start = i
    return out


def _legend(kinds: set[str], y: float) -> tuple[list[str], float]:
    """A key to the kinds of mark the picture holds, and its height: rows that fit the width."""
    shown = [(kind, words) for kind, words in LEGEND.items() if kind in kinds]
    rows: list[list[tuple[str, str]]] = [[]]
    for entry in shown:
        if rows[-1] and sum(_legend_width(w) for _, w in rows[-1]) + _legend_width(entry[1]) > WIDTH - RIGHT - 8:
            rows.append([])
        rows[-1].append(entry)
    out = []
    for row in rows:
        width = sum(_legend_width(words) for _, words in row)
        # Under the plot where it fits; moved left, into the labels' column, where it does not.
        left = max(8, min(LABEL, WIDTH - RIGHT - width))
        for kind, words in row:
            height = min(SHAPES[kind][1], 14)
            out.append(rect(kind, left, y - 11 + (14 - height) / 2, 10, height))
            out.append(f'<text class="gtm-axis" x="{left + 14}" y="{y}">{words}</text>')
            left += _legend_width(words)
        y += LEGEND_ROW
    return out, LEGEND_ROW * len(rows) + 10


def _legend_width(words: str) -> int:
    """Room for one legend entry: the swatch, its words (a monospace character is 0.6 em) and a gap."""
    return 30 + round(0.6 * TEXT_PX * len(words))
