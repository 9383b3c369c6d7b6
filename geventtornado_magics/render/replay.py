"""Views of a Replay: one step as a frame, and the static storyboard of its key steps.

A frame shows the clock, the lane that runs and the cell line it runs at
(the cell's source with that line marked), what every other lane waits on,
and the requests in flight. The storyboard is what a saved, exported or
untrusted notebook shows instead of the player: the timeline with a
numbered playhead per key step, then a small frame for each.

Sanitizer-safe by construction: no script, no ``<style>``, no ``<svg>``
element (the timeline is an ``<img>`` of an SVG document); inline styles only
refine, and the marked line also carries a ``▶`` and bold type, so a frame
reads where every style is stripped.
"""

from __future__ import annotations

import base64
from collections import Counter
from itertools import islice
from html import escape

from ..study.replay import WAIT_KINDS, Replay, Step, url_label
from .svg import AXIS, LABEL, LANE, PLOT, STRIP, render_svg
from .timeline import Timeline, build_timeline
from .summary import origin_of
from .units import clip, count, plural, relative, seconds

#: Lanes and requests listed per frame; the rest are counted.
SHOWN_LANES = 10
SHOWN_REQUESTS = 6
#: Cell lines shown around the marked one in a storyboard frame.
CONTEXT = 3
#: Cell lines shown around it in the player.
PLAYER_CONTEXT = 12
PLAYHEAD = "#d6336c"
LANE_CHARS = 44

#: A frame's or a question's box, in inline style (what the sanitizer keeps).
BOX = "border:1px solid rgba(128,128,128,.45);border-radius:6px;padding:4px 10px;margin:6px 0"
MARKED = "background-color:rgba(214,51,108,.18);font-weight:bold"
MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.35"
#: Table cells left-aligned and tight, over JupyterLab's right-aligned, padded defaults.
CELL = "text-align:left;padding:0 10px 0 0"


def frame_html(replay: Replay, index: int, why: str = "", context: int = CONTEXT) -> str:
    """One step: what ran and where, what the rest waits on, the requests in flight."""
    step = replay.steps[index]
    origin = origin_of(replay.run)
    title = f"{relative(why, origin)} — " if why else ""
    where = f" at line {step.line}" if step.line else ""
    head = (
        f"<div><b>{escape(title)}step {count(index + 1)} of {count(len(replay.steps))}, "
        f"{escape(seconds(step.time))}</b>: <b>{escape(_lane(step.running, origin))}</b> runs{where} "
        f'<span style="opacity:.75">({escape(clip(relative(step.label, origin), 90))})</span></div>'
    )
    return (
        f'<div class="gtm-frame" style="{BOX}">{head}{_source(replay, step, context)}'
        f"{_waiting(step, origin)}{_in_flight(step)}</div>"
    )


def _lane(name: str, origin: str) -> str:
    """A lane's name as the report shows it: URLs on the run's one server relative to it, then clipped."""
    return clip(relative(name, origin), LANE_CHARS)


def _source(replay: Replay, step: Step, context: int) -> str:
    """The cell lines around the one that runs (``▶``) and the ones other lanes wait at (``‖``)."""
    lines = replay.run.lines
    if not lines:
        return ""
    waits = {wait.line for wait in step.waiting.values() if wait.line}
    marked = waits | ({step.line} if step.line else set())
    centre = step.line or (max(waits) if waits else 1)
    if len(marked) > 1 and max(marked) - min(marked) <= 2 * context:
        first, last = min(marked) - 1, max(marked) + 1  # every marked line, and one either side
    else:
        first, last = centre - context, centre + context
    first, last = max(1, first), min(len(lines), last)
    rows = []
    for n in range(first, last + 1):
        sign = "▶" if n == step.line else "‖" if n in waits else " "
        text = escape(f"{sign} {n:>3}  {lines[n - 1]}")
        rows.append(f'<b style="{MARKED}">{text}</b>' if n == step.line else f"<b>{text}</b>" if n in waits else text)
    return f'<pre style="{MONO};margin:4px 0;padding:0;background:none">{chr(10).join(rows)}</pre>'


def _waiting(step: Step, origin: str) -> str:
    waiting = step.waiting
    if not waiting:
        return _dim("nothing else is alive")
    shown = list(islice(waiting.items(), SHOWN_LANES))
    rows = "".join(
        f'<tr><td style="{CELL}">{escape(_lane(lane, origin))}</td><td style="{CELL}"><b>{escape(wait.kind)}</b></td>'
        f'<td style="{CELL}">{escape(clip(relative(wait.what, origin), 56))}</td></tr>'
        for lane, wait in shown
    )
    if len(waiting) > len(shown):
        kinds = Counter(wait.kind for wait in waiting.values())
        kinds.subtract(wait.kind for _, wait in shown)
        summary = ", ".join(f"{count(n)} {kind}" for kind, n in kinds.most_common() if n)
        rows += f'<tr><td colspan="3" style="{CELL}">… and {escape(count(len(waiting) - len(shown)))} more: {escape(summary)}</td></tr>'
    return (
        f'<table style="{MONO};border-collapse:collapse;margin:2px 0"><thead><tr><th style="{CELL}">lane</th>'
        f'<th style="{CELL}">waits on</th><th style="{CELL}"></th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _in_flight(step: Step) -> str:
    requests = step.in_flight
    if not requests:
        return _dim("no request in flight")
    shown = ", ".join(
        f"{escape(r.method)} {escape(clip(url_label(r.url), 40))} (open {escape(seconds(step.time - r.start))})"
        for r in requests[:SHOWN_REQUESTS]
    )
    more = f" and {count(len(requests) - SHOWN_REQUESTS)} more" if len(requests) > SHOWN_REQUESTS else ""
    return f"<div>{escape(plural(len(requests), 'request'))} in flight: {shown}{escape(more)}</div>"


def _dim(text: str) -> str:
    return f'<div style="opacity:.8">{escape(text)}</div>'


def with_playheads(timeline: Timeline, svg: str, heads: list[tuple[float, str]]) -> str:
    """``svg`` (drawn by ``render_svg`` from ``timeline``) with a labelled vertical line at each time."""
    bottom = AXIS + LANE * len(timeline.lanes) + (STRIP if timeline.strip else 0)
    marks = []
    for time, label in heads:
        x = LABEL + max(time, 0.0) * PLOT / timeline.span
        marks.append(
            f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{bottom}" stroke="{PLAYHEAD}" stroke-width="2"/>'
            f'<text x="{x + 3:.1f}" y="{AXIS + 9}" fill="{PLAYHEAD}" font-weight="bold">{escape(label)}</text>'
        )
    at = svg.rindex("</svg>")
    return svg[:at] + "".join(marks) + svg[at:]


def storyboard_html(replay: Replay, timeline: Timeline | None = None) -> str:
    """The key steps as numbered frames under the timeline: what a notebook shows without the player."""
    run = replay.run
    if not replay.steps:
        return '<div class="gtm-replay">Nothing to replay: the run recorded no switch or callback (--no-trace?).</div>'
    timeline = timeline or build_timeline(run)
    keys = replay.key_steps()
    drawn = with_playheads(timeline, render_svg(timeline, True), [(replay.steps[k.index].time, str(n)) for n, k in enumerate(keys, 1)])
    image = base64.b64encode(drawn.encode()).decode("ascii")
    legend = "▶ the line that runs; ‖ a line where another lane waits. " + "; ".join(
        f"{kind}: {words}" for kind, words in WAIT_KINDS.items()
    )
    parts = [
        '<div class="gtm-replay">',
        f"<div><b>Replay of %%{escape(run.model)}: {escape(plural(len(replay.steps), 'step'))} over "
        f"{escape(seconds(run.wall))}</b>. The key steps, numbered on the timeline; "
        "in a live notebook, <code>last_run().replay()</code> steps through every one.</div>",
        f'<img alt="timeline with the key steps marked" style="max-width:100%" src="data:image/svg+xml;base64,{image}">',
    ]
    parts += [frame_html(replay, key.index, f"{n} · {key.why}") for n, key in enumerate(keys, 1)]
    parts.append(_dim(f"{legend}.") + "</div>")
    return "".join(parts)


def storyboard_bundle(replay: Replay, timeline: Timeline | None = None) -> dict[str, str]:
    return {"text/html": storyboard_html(replay, timeline), "text/plain": storyboard_text(replay)}


def storyboard_text(replay: Replay) -> str:
    """The key steps in words, for terminal IPython."""
    origin = origin_of(replay.run)
    lines = [f"Replay of %%{replay.run.model}: {plural(len(replay.steps), 'step')} over {seconds(replay.run.wall)}"]
    for n, key in enumerate(replay.key_steps(), 1):
        step = replay.steps[key.index]
        where = f" at line {step.line}: {replay.run.source_line(step.line)}" if step.line else ""
        lines.append(f"{n}. {relative(key.why, origin)} — {seconds(step.time)}: {_lane(step.running, origin)} runs{where}")
        for lane, wait in islice(step.waiting.items(), SHOWN_LANES):
            lines.append(f"     {_lane(lane, origin)} waits on {relative(str(wait), origin)}")
        if step.in_flight:
            lines.append(f"     {plural(len(step.in_flight), 'request')} in flight")
    return "\n".join(lines)
