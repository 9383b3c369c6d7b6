"""The cell line a greenlet stands on when it switches out: what each switch of the trace is tied to.

The plain way walks the suspended greenlet's frames (``f_back``) down to the
first one of the cell (``CellScope.line_of``). On CPython 3.11+ every frame
it passes gets a frame object made for it, which then outlives the frame.

On Python 3.12+, ``sys.monitoring`` says it without a walk. LINE events,
enabled *locally* on the cell's own code objects, keep the line the running
greenlet is on; a switch keeps it for the greenlet leaving and takes back the
one of the greenlet entering, in O(1). Code outside the cell runs as it
would. Two cases still walk, so the line is always the walk's:

* right after cell code returns, yields or resumes, its caller (or itself)
  goes on from a line whose event came earlier, so the line is unknown until
  the next LINE event;
* a hot loop in the cell (``HOT_LINES`` lines without a switch) would pay for
  an event on every line: its events are disabled, and the rest of the cell walks.

The hub switches out with no line: it runs gevent's loop, and the callbacks
it runs do not switch.
"""

from __future__ import annotations

import sys
import threading
import types

from ..scope import CellScope, Swaps

#: Lines the running greenlet may run without switching before the cell gives up on events and walks.
HOT_LINES = 200
#: The line is not known from events: walk the frames.
_UNKNOWN = object()
#: sys.monitoring tool ids this may take, the first one free: the profiler's, then the spare ones.
_TOOLS = (2, 3, 4)
#: The name the tool id is taken under, as ``sys.monitoring.get_tool`` reports it.
_NAME = "geventtornado_magics"


class CellLines:
    """Context manager: ``at_switch(origin, origin_key, target_key, dead, wanted)`` is the cell line ``origin`` left.

    Call it on every switch of the cell's thread, ``wanted`` false when the
    line is not needed (a dead origin, a switch past the cap): the line of the
    greenlet entering is taken back all the same. Without ``codes`` (the
    cell's code objects, ``code_objects(cell)``) or ``sys.monitoring``, it walks.
    """

    def __init__(self, scope: CellScope, codes: list[types.CodeType] = (), hub_key: int | None = None):
        self._line_of = scope.line_of
        self._line_offset = scope.line_offset
        self._codes = list(codes)
        self._hub_key = hub_key
        self._thread = threading.get_ident()
        self._monitoring = getattr(sys, "monitoring", None)
        self._swaps = Swaps()
        #: The running greenlet's cell line (or None, or ``_UNKNOWN``).
        self._current: object = _UNKNOWN
        #: The line of each greenlet switched out, by key, until it is switched back in.
        self._suspended: dict[int, object] = {}
        self._lines_since_switch = 0
        self._walk_only = True

    def __enter__(self) -> CellLines:
        monitoring = self._monitoring
        if monitoring is None or not self._codes:
            return self
        tool = next((tool for tool in _TOOLS if monitoring.get_tool(tool) is None), None)
        if tool is None:  # a debugger, coverage and a profiler have them all: walk
            return self
        self._swaps.swap_setting(f"sys.monitoring tool {tool}", lambda: monitoring.get_tool(tool), self._taking(tool), _NAME)
        self._current = None  # the cell has not run a line yet
        self._walk_only = False
        return self

    def __exit__(self, *exc_info) -> None:
        self._swaps.close()
        self._walk_only = True

    def _taking(self, tool: int):
        """The setter of the tool id: take it with this cell's events and callbacks, or give it all back."""
        monitoring = self._monitoring
        events = monitoring.events
        watched = events.LINE | events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
        callbacks = {events.LINE: self._on_line, events.PY_RETURN: self._on_leave, events.PY_YIELD: self._on_leave, events.PY_RESUME: self._on_leave}

        def take(name: str | None) -> None:
            if name is not None:
                monitoring.use_tool_id(tool, name)
            for event, callback in callbacks.items():
                monitoring.register_callback(tool, event, callback if name is not None else None)
            for code in self._codes:
                monitoring.set_local_events(tool, code, watched if name is not None else 0)
            if name is None:
                monitoring.free_tool_id(tool)

        return take

    def at_switch(self, origin, origin_key: int, target_key: int, dead: bool, wanted: bool) -> int | None:
        hub = origin_key == self._hub_key
        if self._walk_only:
            return self._line_of(origin.gr_frame) if wanted and not hub else None
        line = self._current
        if line is _UNKNOWN and wanted and not hub:
            line = self._line_of(origin.gr_frame)
        if not dead:
            self._suspended[origin_key] = line
        self._current = self._suspended.pop(target_key, None)
        self._lines_since_switch = 0
        return line if wanted and not hub and line is not _UNKNOWN else None

    def _on_line(self, code, line):
        if threading.get_ident() != self._thread:
            return None
        if self._walk_only:
            return self._monitoring.DISABLE
        self._lines_since_switch += 1
        if self._lines_since_switch > HOT_LINES:
            self._walk_only = True
            return self._monitoring.DISABLE
        self._current = line + self._line_offset
        return None

    def _on_leave(self, code, offset, *value):
        if self._walk_only:  # past a hot loop these events feed nothing: stop paying for them
            return self._monitoring.DISABLE
        if threading.get_ident() == self._thread:
            self._current = _UNKNOWN
        return None


def code_objects(cell) -> list[types.CodeType]:
    """A compiled cell's code objects: its body, its last expression, and every function, class and comprehension in them."""
    found, pending = [], [code for code in (cell.body, cell.last_expr) if code is not None]
    while pending:
        code = pending.pop()
        found.append(code)
        pending.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return found
