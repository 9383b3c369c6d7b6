"""gevent's own report of a greenlet that failed, cut to one line while a cell runs.

The hub prints a greenlet's uncaught exception with its whole traceback and
a timestamp (``Hub.print_exception``): forty lines above the report for a
lesson on failures, through this package's own recorders, and a
``KeyboardInterrupt`` block after a Ctrl-C. The report already shows each
failure, in its row and its greenlet's line of the tree. So while the cell
runs, the hub says one line per failed greenlet (the first few, then that
there were more), and nothing for a Ctrl-C or ``SystemExit``, which
the cell's own error says. Anything else the hub reports (a ``link()``
callback or a loop callback that raised) is not in the report, so gevent
prints it as it always does. gevent documents overriding its error handling on
the hub instance (``Hub.handle_error``); this replaces the printing only.
"""

from __future__ import annotations

from gevent import Greenlet

from ..render.units import error_text
from ..scope import Swapping, Swaps
from .spawned import SpawnedGreenlets

#: Failed greenlets said one line each; past it, one line says there were more.
LINES = 5


class QuietFailures(Swapping):
    """Context manager: the hub prints one line per failed greenlet of the cell, no traceback."""

    def __init__(self, hub, spawned: SpawnedGreenlets, lines: int = LINES):
        self.hub = hub
        self.spawned = spawned
        self.lines = lines
        self.failed = 0

    def swap_in(self, swaps: Swaps) -> None:
        self._gevents_own = self.hub.print_exception
        swaps.swap(self.hub, "print_exception", self._print)

    def _print(self, context, kind, value, tb) -> None:
        stream = self.hub.exception_stream
        if not stream or issubclass(kind, self.hub.SYSTEM_ERROR):
            return
        if not isinstance(context, Greenlet):
            return self._gevents_own(context, kind, value, tb)
        self.failed += 1
        if self.failed > self.lines:
            if self.failed == self.lines + 1:
                stream.write("… more greenlets failed: the report below lists every one\n")
            return
        name = self.spawned.names.get(id(context)) or context.name
        error = error_text(value) if value is not None else kind.__name__
        stream.write(f"greenlet {name} failed: {error}\n")
