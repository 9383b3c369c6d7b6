"""The Run: a plain record of what one ``%%gevent`` or ``%%tornado`` cell did.

A Run is what the recorders produce and what the renderers draw. It imports
nothing from IPython, gevent or Tornado, so a Run can be built by hand (the
renderer tests do), pickled, or inspected long after the cell ran::

    run = geventtornado_magics.last_run()
    run.wall                      # seconds the cell took
    [r.duration for r in run.requests]
    run.to_chrome_trace()         # open in https://ui.perfetto.dev

All times are seconds from the start of the cell. The records a Run holds
by the hundred thousand (requests, tasks, trace events) have slots: no
``__dict__`` each, so half as many objects for the garbage collector to track.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class CellTimeout(TimeoutError):
    """The cell ran past ``--timeout``; what it had started was stopped."""


@dataclass(slots=True)
class Request:
    """One HTTP request the cell made."""

    url: str
    method: str = "GET"
    status: int | None = None
    nbytes: int = 0
    start: float = 0.0
    end: float | None = None
    error: str | None = None
    #: Name of the greenlet or task that made the request.
    task: str | None = None
    #: Seconds spent waiting for a free connection slot before the request
    #: was sent (Tornado's ``max_clients``); 0 for gevent.
    queued: float = 0.0

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400


@dataclass(slots=True)
class Task:
    """A greenlet or asyncio task the cell started: one lane of the timeline."""

    name: str
    #: Stable key for the lane (``id()`` of the greenlet or task).
    key: int
    #: ``"done"``, ``"failed"``, ``"killed"`` (left running and killed at the end
    #: of the cell), ``"cleanup cut short"`` (killed or cancelled, and again while its
    #: cleanup still ran), ``"cancelled"``, ``"running"`` (a lane the cell could not stop) or
    #: ``"unfinished"`` (Tornado: a task that ignored cancellation, left waiting for good).
    state: str = "done"
    spawned: float = 0.0
    start: float | None = None
    end: float | None = None
    result: str | None = None
    error: str | None = None
    #: Who started it (the spawning greenlet or task).
    spawned_by: str | None = None
    #: The greenlet's parent: where control goes when it finishes (gevent: the hub).
    parent: str | None = None


@dataclass(slots=True)
class Event:
    """One entry of the trace: a greenlet switch, or a callback the loop ran."""

    time: float
    #: gevent: ``"switch"`` or ``"throw"``; Tornado: ``"step"``, ``"io"``,
    #: ``"timer"`` or ``"callback"``.
    kind: str
    #: Lane control left (gevent) or the lane the callback belongs to (Tornado).
    source: str
    #: Lane control went to (gevent); empty for Tornado.
    target: str = ""
    #: What ran, in words (Tornado) or why control moved (gevent).
    label: str = ""
    #: Cell line (1-based, line 1 follows the ``%%`` line) where the switched-out
    #: greenlet was suspended, or where the resumed coroutine stood.
    line: int | None = None
    #: How long the callback ran (Tornado); ``None`` for switches.
    duration: float | None = None


@dataclass
class Blocking:
    """A stretch where one greenlet or callback held the loop, so nothing else ran."""

    start: float
    duration: float
    #: The greenlet or task that held the loop.
    task: str
    #: The cell line it was on while blocking (sampled), if it was in the cell.
    line: int | None = None
    #: What probably blocked and what to do instead.
    hint: str = ""


@dataclass
class Patching:
    """What monkey patching did during a ``%%gevent`` cell."""

    #: Modules patched for the duration of the cell, e.g. ``["socket", "ssl"]``.
    patched: list[str] = field(default_factory=list)
    #: Modules the cell asked to patch and that were left alone, with the reason.
    refused: dict[str, str] = field(default_factory=dict)
    #: How patching was asked for: ``"--patch"``, ``"patch_all()"``, ...
    requested_by: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Everything one cell did, in the order the report shows it."""

    model: str
    source: str = ""
    options: str = ""
    wall: float = 0.0
    cpu: float = 0.0
    value: Any = None
    error: BaseException | None = None
    requests: list[Request] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: How many records of each kind were dropped past the recorders' caps.
    dropped: dict[str, int] = field(default_factory=dict)
    patching: Patching | None = None
    #: Where the loop was blocked longer than the threshold (see ``recorders/blocking.py``).
    blocking: list[Blocking] = field(default_factory=list)
    #: Short teaching notes: things the cell did that are worth a word.
    notes: list[str] = field(default_factory=list)
    #: Questions to predict the run before seeing it (``--predict``; see ``study.predict``).
    questions: list = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        """The cell's source lines; ``lines[n - 1]`` is cell line ``n``."""
        return self.source.splitlines()

    def source_line(self, number: int | None) -> str:
        if number is None or not 1 <= number <= len(self.lines):
            return ""
        return self.lines[number - 1].strip()

    def to_chrome_trace(self) -> dict:
        """The run as Chrome trace-event JSON (Perfetto, chrome://tracing)."""
        from .render.chrome_trace import chrome_trace

        return chrome_trace(self)

    def replay(self):
        """The run one scheduler step at a time (``.steps``); in a notebook, a player to step through it."""
        from .study.replay import Replay

        return Replay(self)

    def to_dataframe(self, records: str = "requests"):
        """Every request (or ``"tasks"``, or ``"events"``) as a pandas DataFrame.

        Needs pandas: ``pip install 'geventtornado_magics[dataframe]'``.
        """
        from .render.dataframe import to_dataframe

        return to_dataframe(self, records)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .render import mimebundle

        return mimebundle(self)

    def _repr_html_(self) -> str:
        from .render.html import render_html

        return render_html(self)

    def __repr__(self) -> str:
        from .render.text import render_text

        return render_text(self)


@dataclass
class Comparison:
    """Runs of the same work side by side: ``%compare_models``, or a cell's ``--compare``."""

    #: What was compared, e.g. ``20 requests of /delay/0.5``.
    title: str
    #: The runs by label (a model's name, or ``as written``), in the order they ran.
    runs: dict[str, Run] = field(default_factory=dict)
    #: The label every speed-up is measured against (the slowest way, as a rule).
    baseline: str | None = None
    #: The code each label ran, where it is not the user's cell.
    code: dict[str, str] = field(default_factory=dict)

    def speedup(self, label: str) -> float | None:
        """How many times faster ``label`` ran than the baseline."""
        if self.baseline is None or not self.runs[label].wall:
            return None
        return self.runs[self.baseline].wall / self.runs[label].wall

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .render.comparison import render_comparison_html, render_comparison_text

        return {"text/html": render_comparison_html(self), "text/plain": render_comparison_text(self)}

    def _repr_html_(self) -> str:
        from .render.comparison import render_comparison_html

        return render_comparison_html(self)

    def __repr__(self) -> str:
        from .render.comparison import render_comparison_text

        return render_comparison_text(self)
