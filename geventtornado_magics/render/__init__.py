"""Renderers: pure functions from a Run to the report a notebook shows.

One concern per module, in the order the report reads:

* ``summary``: the headline and the facts line (figures and their words);
* ``timeline``: what the picture shows, as lanes and marks in seconds,
  bounded however large the run; ``svg`` draws it, ``text`` draws it in characters;
* ``tables``: the requests table and the trace, as rows of strings;
* ``tree``: the tree of greenlets (by parent) or tasks (by who started them);
* ``html`` and ``text``: the two views, put together; ``style``: the stylesheet;
* ``chrome_trace`` and ``dataframe``: the exports, which keep every record;
* ``units``: how numbers and long names are written.

:func:`mimebundle` is what ``Run._repr_mimebundle_`` returns.
"""

from __future__ import annotations

from ..run import Run
from .html import render_html
from .text import render_text
from .timeline import build_timeline


def mimebundle(run: Run) -> dict[str, str]:
    """``text/html`` and ``text/plain`` for one Run, sharing one pass over its events.

    No ``image/svg+xml`` or ``image/png`` part: the notebook hosts rank
    ``text/html`` above both, and the HTML carries the picture in two forms,
    one of which each host keeps (``docs/report.md`` has the evidence).
    """
    timeline = build_timeline(run)
    return {"text/html": render_html(run, timeline), "text/plain": render_text(run, timeline)}
