"""The timeline: one lane per greenlet or task, plus the hub or the loop, as static SVG.

What it shows, on one time axis from the start of the cell:

* thin dark slices where a lane was running (between a switch into it and the
  next switch out, for gevent; while a callback ran, for Tornado);
* light bars where a lane waited on an HTTP request (start to end), red when
  the request failed;
* a hover title on every mark: names, URLs, cell lines.

Past ``MAX_LANES`` lanes the picture would be unreadable, so the lanes are
replaced by one strip: how many requests were in flight over time. The SVG
needs no script and no network, and takes its colours from JupyterLab's CSS
variables, with fallbacks for everywhere else.
"""

from __future__ import annotations

from html import escape

from ..run import Run
from .summary import peak_in_flight, seconds

MAX_LANES = 40
#: The lane of the cell's own code (the main greenlet, or the cell's coroutine).
CELL_LANE = "cell"
#: Running slices drawn per lane at most; past it, adjacent slices are merged.
MAX_SLICES = 2_000
#: Request bars drawn at most (slowest first past it).
MAX_BARS = 2_000

_WIDTH = 900
_LABEL = 230
_LANE = 18
_AXIS = 24


def render_timeline(run: Run) -> str:
    """SVG markup of the run's timeline (empty string for a run with nothing to draw)."""
    span = max(run.wall, max((r.end or 0 for r in run.requests), default=0), 1e-6)
    lanes = _lane_names(run)
    if len(lanes) > MAX_LANES:
        return _strip(run, span)
    if not run.requests and not run.events:
        return ""
    index = {name: i for i, name in enumerate(lanes)}
    height = _AXIS + _LANE * len(lanes) + 6
    x = _scale(span)
    parts = [_svg_open(height, f"Timeline of the cell: {len(lanes)} lanes over {seconds(span)}")]
    for name, i in index.items():
        y = _AXIS + i * _LANE
        if i % 2:
            parts.append(f'<rect x="0" y="{y}" width="{_WIDTH}" height="{_LANE}" class="gtm-band"/>')
        parts.append(
            f'<text x="{_LABEL - 6}" y="{y + 13}" text-anchor="end" class="gtm-label">'
            f"<title>{escape(name)}</title>{escape(_clip(name, 34))}</text>"
        )
    parts += _axis(span, len(lanes))
    for request in _bars(run):
        lane = index.get(request.task or "", index.get(CELL_LANE))
        y = _AXIS + lane * _LANE + 4
        end = request.end if request.end is not None else span
        css = "gtm-bar" if request.ok else "gtm-bar gtm-failed"
        if request.queued:
            parts.append(
                f'<rect x="{x(request.start - request.queued):.1f}" y="{y}" '
                f'width="{max(x(request.start) - x(request.start - request.queued), 1):.1f}" '
                f'height="10" class="gtm-queued"><title>queued {seconds(request.queued)}</title></rect>'
            )
        title = f"{request.method} {request.url} → {request.status or request.error or '…'} ({seconds(request.duration)})"
        parts.append(
            f'<rect x="{x(request.start):.1f}" y="{y}" width="{max(x(end) - x(request.start), 1):.1f}" '
            f'height="10" class="{css}"><title>{escape(title)}</title></rect>'
        )
    for lane, slices in _running(run).items():
        if lane not in index:
            continue
        y = _AXIS + index[lane] * _LANE + 2
        for start, end, line in _merge(slices):
            where = f", line {line}: {run.source_line(line)}" if line else ""
            parts.append(
                f'<rect x="{x(start):.1f}" y="{y}" width="{max(x(end) - x(start), 1.2):.1f}" height="14" '
                f'class="gtm-run"><title>{escape(lane)} runs {seconds(start)}–{seconds(end)}{escape(where)}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _lane_names(run: Run) -> list[str]:
    names = [CELL_LANE, "hub" if run.model == "gevent" else "loop"]
    names += [task.name for task in run.tasks]
    seen = set(names)
    for event in run.events:
        for name in (event.source, event.target):
            if name and name not in seen:
                seen.add(name)
                names.append(name)
    return names


def _running(run: Run) -> dict[str, list[tuple[float, float, int | None]]]:
    """When each lane ran: ``{lane: [(start, end, line)]}``."""
    slices: dict[str, list] = {}
    if run.model == "gevent":
        # After each switch the target runs until the next switch.
        current, since = CELL_LANE, 0.0
        for event in run.events:
            slices.setdefault(current, []).append((since, event.time, event.line))
            current, since = event.target, event.time
        if run.events:
            slices.setdefault(current, []).append((since, run.wall, None))
    else:
        for event in run.events:
            slices.setdefault(event.source, []).append(
                (event.time, event.time + (event.duration or 0), event.line)
            )
    return slices


def _merge(slices):
    """At most ``MAX_SLICES`` slices: merge neighbours when a lane has too many."""
    if len(slices) <= MAX_SLICES:
        return slices
    step = -(-len(slices) // MAX_SLICES)
    return [(group[0][0], group[-1][1], group[0][2]) for group in (slices[i : i + step] for i in range(0, len(slices), step))]


def _bars(run: Run):
    if len(run.requests) <= MAX_BARS:
        return run.requests
    return sorted(run.requests, key=lambda r: -(r.duration or 0))[:MAX_BARS]


def _strip(run: Run, span: float) -> str:
    """Requests in flight over time, for runs with too many lanes to draw one by one."""
    buckets = 300
    counts = [0] * buckets
    for request in run.requests:
        first = int(request.start / span * (buckets - 1))
        last = int((request.end if request.end is not None else span) / span * (buckets - 1))
        for b in range(max(first, 0), min(last, buckets - 1) + 1):
            counts[b] += 1
    peak = max(max(counts), 1)
    height = 120
    x = _scale(span)
    parts = [_svg_open(_AXIS + height + 6, f"{len(run.requests)} requests in flight over {seconds(span)}")]
    parts.append(
        f'<text x="{_LABEL - 6}" y="{_AXIS + 14}" text-anchor="end" class="gtm-label">requests in flight</text>'
        f'<text x="{_LABEL - 6}" y="{_AXIS + 30}" text-anchor="end" class="gtm-label">peak {peak_in_flight(run):,}</text>'
    )
    parts += _axis(span, height / _LANE)
    width = (_WIDTH - _LABEL) / buckets
    for b, n in enumerate(counts):
        if n:
            h = n / peak * height
            t = b / (buckets - 1) * span
            parts.append(
                f'<rect x="{x(t):.1f}" y="{_AXIS + height - h:.1f}" width="{width + 0.3:.1f}" height="{h:.1f}" '
                f'class="gtm-bar"><title>{n:,} in flight at {seconds(t)}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gtm-timeline" viewBox="0 0 {_WIDTH} {height:.0f}" '
        f'width="100%" style="max-width:{_WIDTH}px" role="img" aria-label="{escape(label)}">'
    )


def _axis(span: float, lanes: float) -> list[str]:
    x = _scale(span)
    bottom = _AXIS + lanes * _LANE
    step = _tick_step(span)
    parts = []
    t = 0.0
    while t <= span * 1.0001:
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{_AXIS - 4}" x2="{x(t):.1f}" y2="{bottom:.0f}" class="gtm-tick"/>'
            f'<text x="{x(t):.1f}" y="{_AXIS - 8}" text-anchor="middle" class="gtm-axis">{seconds(t) if t else "0"}</text>'
        )
        t += step
    return parts


def _tick_step(span: float) -> float:
    for step in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300):
        if span / step <= 8:
            return step
    return span / 8


def _scale(span: float):
    width = _WIDTH - _LABEL - 10
    return lambda t: _LABEL + max(t, 0) / span * width


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
