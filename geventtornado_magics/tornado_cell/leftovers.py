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

#: Leftovers named one by one in the note; the rest are counted.
_NAMED = 10


class Leftovers:
    """Collects ``(description, cell line)`` of the cell's pending callbacks, before they are cancelled."""

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

    def note(self) -> str | None:
        """The report's line, or None when the cell left nothing of its own pending."""
        if not self.pending:
            return None
        items = [
            f"{what}{f' (line {line})' if line else ''}{f' ×{times}' if times > 1 else ''}"
            for (what, line), times in self.pending.most_common(_NAMED)
        ]
        rest = sum(self.pending.values()) - sum(times for _, times in self.pending.most_common(_NAMED))
        if rest:
            items.append(f"{rest} more")
        return (
            "Still pending when the cell's code ended, and cancelled (a script's loop would have run "
            f"them later): {'; '.join(items)}. To let them run, wait for them in the cell: "
            "IOLoop.current().start() returns when they are done, or at IOLoop.stop()."
        )


def _name(function) -> str:
    return getattr(function, "__qualname__", None) or repr(function)
