"""Say which callbacks and timers a ``%%tornado`` cell left pending when its code ended.

A script's loop would have run them later: a ``PeriodicCallback`` ticking on,
an ``IOLoop.call_later`` due in five seconds. The end of the cell cancels
them, so nothing of the cell runs inside a later one, and the report lists
them, as it lists the tasks it cancelled. A ``PeriodicCallback`` is also
stopped, so that ``is_running()`` tells the truth afterwards.

Library timers the cell's fetches leave behind (a connect timeout still
armed) are cancelled without a word: they are not what the cell wrote.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tornado.ioloop import PeriodicCallback

from ..scope import CellScope
from .tasks import is_library_code
from .work import function_of

class Leftovers:
    """Counts ``(description, cell line)`` of the cell's pending callbacks in ``pending``, before they are cancelled.

    ``notes.leftovers_note`` says them in the report.
    """

    def __init__(self, scope: CellScope):
        self.scope = scope
        self.pending: Counter[tuple[str, int | None]] = Counter()

    def record(self, handles: list[asyncio.Handle], now: float) -> None:
        """Record ``handles`` (``now``: the loop's time); a cancelled Handle forgets what it ran."""
        for handle in handles:
            function = function_of(handle)
            owner = getattr(function, "__self__", None)
            if isinstance(owner, PeriodicCallback):
                owner.stop()
                function = owner.callback
                what = f"PeriodicCallback({_name(function)}) every {owner.callback_time:g} ms"
            elif isinstance(handle, asyncio.TimerHandle):
                what = f"timer {_name(function)} due in {max(handle.when() - now, 0):.1f} s"
            else:
                what = f"callback {_name(function)}"
            code = getattr(function, "__code__", None)
            if is_library_code(code):
                continue
            self.pending[what, self.scope.line_of(code)] += 1


def _name(function) -> str:
    return getattr(function, "__qualname__", None) or repr(function)
