"""What the report of a ``%%tornado`` cell teaches: its notes, and the messages of what it refuses.

Every sentence a student reads about the Tornado model, beyond the tables,
is here: what a script-era call did in the kernel instead (and the modern
line), why requests queued, why a client ignored its arguments, what the end
of the cell cancelled, and the errors of calls that cannot block where they
were made.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ..run import Run, Task

if TYPE_CHECKING:  # the recorders import this module
    from .http import TornadoHttpRecorder
    from .script_style import BlockingLoop, CallbackFetch
    from .sync_client import BlockingHttpClient

#: Why ``IOLoop.start()`` or ``run_sync()`` raise outside the cell's own code.
BLOCKING_ELSEWHERE = (
    "IOLoop.{method}() can only block the cell's own code, where a script would call it: "
    "this loop is the kernel's and is already running. In a coroutine, await instead."
)

#: Why ``HTTPClient().fetch()`` raises outside the cell's own code.
SYNC_FETCH_ELSEWHERE = (
    "HTTPClient.fetch() blocks until the response is in, which only the cell's own code can do "
    "here (the kernel's loop is already running). In a coroutine or a callback, use "
    "response = await AsyncHTTPClient().fetch(url)."
)

#: What an aborted request's row says, by why the cell stopped.
ABORTED = {"timeout": "cancelled: --timeout", "interrupt": "cancelled: interrupted"}
#: What a request still open at the end of the cell says.
CANCELLED_AT_THE_END = "cancelled at the end of the cell"
#: The error of a cell stopped by Ctrl-C.
INTERRUPTED = "interrupted: the cell's tasks and fetches were cancelled"

#: The error of a cell whose code ended, interrupted while its leftovers were being cancelled.
INTERRUPTED_IN_CLEANUP = "interrupted while the cell's leftover tasks were cancelled: their cleanup was cut short"

#: Leftovers named one by one in their note; the rest are counted.
NAMED_LEFTOVERS = 10


def timed_out(timeout: float) -> str:
    """The error of a cell stopped by ``--timeout``."""
    return f"the cell ran longer than --timeout {timeout:g} s; its tasks and fetches were cancelled"


def report_notes(
    run: Run,
    http: TornadoHttpRecorder,
    bridged: BlockingLoop,
    old_style: CallbackFetch,
    sync_client: BlockingHttpClient,
    abandoned: int,
) -> list[str]:
    """What the report says under the cell, from what its recorders and bridges saw."""
    notes = []
    for name, line in dict.fromkeys(old_style.uses):
        notes.append(
            f"{at(line)}fetch(url, {name}) used the callback argument Tornado 6 removed (there, "
            f"{name} is taken for raise_error and never called); here it was called with the "
            f"response. The modern line: response = await http_client.fetch(url), then "
            f"{name}(response); or fetch(url).add_done_callback(lambda f: {name}(f.result()))."
        )
    for method, line in dict.fromkeys(bridged.used):
        notes.append(f"{at(line)}{BLOCKING_NOTES[method]}")
    for line in dict.fromkeys(sync_client.uses):
        notes.append(
            f"{at(line)}HTTPClient().fetch() waited for its response on the kernel's own loop, which "
            "ran on meanwhile; in a script it runs a loop of its own, which a running loop forbids. "
            "In a coroutine: response = await AsyncHTTPClient().fetch(url)."
        )
    queued = [request for request in run.requests if request.queued > 0.001]
    if queued:
        limits = ", ".join(f"max_clients={value}" for value in sorted(set(http.max_clients.values()))) or "max_clients"
        notes.append(
            f"{len(queued)} of {len(run.requests)} requests waited {sum(r.queued for r in queued):.2f} s in "
            f"total for a connection: the client runs at most {limits} requests at once and queues the "
            "rest. For more at once: AsyncHTTPClient(force_instance=True, max_clients=100) (close() it "
            "after), or AsyncHTTPClient.configure(None, max_clients=100) before the kernel's first client."
        )
    for ignored in http.ignored_arguments:
        arguments = ", ".join(f"{key}={value!r}" for key, value in ignored.arguments.items())
        notes.append(
            f"{at(ignored.line)}AsyncHTTPClient({arguments}) returned this loop's existing client "
            f"and ignored the arguments (it keeps max_clients={ignored.max_clients}): Tornado makes one "
            f"client per loop. Use AsyncHTTPClient(force_instance=True, {arguments}), or "
            f"AsyncHTTPClient.configure(None, {arguments}) before the first client is made."
        )
    if abandoned and run.error is None:
        notes.append(
            f"{abandoned} task(s) were still running when the cell's code ended, and were cancelled: "
            "await them (asyncio.gather, or IOLoop.current().start()) to let them finish."
        )
    return notes


def cleanup_notes(tasks: list[Task], grace: float) -> list[str]:
    """What became of cleanups that did not finish in time, by task."""
    notes = []
    cut = [task.name for task in tasks if task.state == "cleanup cut short"]
    if cut:
        notes.append(
            f"{', '.join(cut)}: its cleanup (finally, or except CancelledError) was still awaiting "
            f"{grace:g} s after the end of the cell cancelled it; it was cancelled again where it "
            "waited, so the rest of that cleanup did not run. Keep cleanup short, or await the task in the cell."
        )
    stuck = [task.name for task in tasks if task.state == "unfinished"]
    if stuck:
        notes.append(
            f"{', '.join(stuck)}: unfinished. Cancelled twice, it caught CancelledError and went on "
            "waiting; its coroutine was closed where it waited and its timers and callbacks cancelled, "
            "so nothing of it runs in a later cell. Re-raise CancelledError after cleaning up."
        )
    return notes


def leftovers_note(pending: Counter) -> str | None:
    """The note on callbacks and timers left pending, by ``(what, cell line)``; None if there were none."""
    if not pending:
        return None
    items = [
        f"{what}{f' (line {line})' if line else ''}{f' ×{times}' if times > 1 else ''}"
        for (what, line), times in pending.most_common(NAMED_LEFTOVERS)
    ]
    rest = sum(pending.values()) - sum(times for _, times in pending.most_common(NAMED_LEFTOVERS))
    if rest:
        items.append(f"{rest} more")
    return (
        "Still pending when the cell's code ended, and cancelled (a script's loop would have run "
        f"them later): {'; '.join(items)}. To let them run, wait for them in the cell: "
        "IOLoop.current().start() returns when they are done, or at IOLoop.stop()."
    )


#: What a script-style loop call did here instead of what it does in a script.
BLOCKING_NOTES = {
    "start": "IOLoop.start() ran the kernel's own loop until the cell's fetches, callbacks and "
    "tasks were done, then returned; in a script it runs until IOLoop.stop().",
    "run_sync": "IOLoop.run_sync() waited on the kernel's own loop and left it running; Tornado's "
    "run_sync stops the loop it ran, which here would have stopped the kernel.",
    "close": "IOLoop.close() would have closed the kernel's own loop, taking the kernel's handlers "
    "off it (no cell would run again): here it acted as IOLoop.stop(), and the loop runs on.",
    "asyncio stop": "loop.stop() would have stopped the kernel's own loop, and the kernel with it: "
    "here it acted as IOLoop.stop(), ending IOLoop.start(), and the loop runs on.",
}


def at(line: int | None) -> str:
    """``Line 3: ``, the start of a note about a cell line (nothing without one)."""
    return f"Line {line}: " if line else ""
