"""What the report of a ``%%gevent`` cell teaches: its notes, and why a module is left unpatched.

Every sentence a student reads about the gevent model, beyond the tables, is
here: why each module a cell's ``patch_all()`` reaches is or is not patched
in a kernel, what became of the greenlets the cell left running, and the
errors of a cell stopped by ``--timeout``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .spawned import GRACE

if TYPE_CHECKING:
    from .spawned import SpawnedGreenlets

#: What is never patched in a kernel, and why (shown in the report).
REFUSED = {
    "patch_thread": (
        "threading",
        "the kernel's shell-channel, IOPub and heartbeat threads are real threads; "
        "with threading patched they turn into greenlets and the kernel stops answering",
    ),
    "patch_queue": (
        "queue",
        "asyncio resolves host names in worker threads that wait on queue.SimpleQueue; "
        "patched, those threads fail with LoopExit",
    ),
    "patch_os": (
        "os",
        "os.fork and os.waitpid are patched for the whole process and a SIGCHLD watcher "
        "outlives the cell, which breaks !commands and subprocesses",
    ),
    "patch_subprocess": ("subprocess", "needs os patched (see os)"),
    "patch_signal": (
        "signal",
        "the kernel owns signal handling: Jupyter interrupts a cell with SIGINT",
    ),
    "patch_sys": ("sys", "stdin, stdout and stderr are the kernel's streams to the notebook"),
}

#: Why a safe module is left alone in the second run of ``--compare``.
COMPARE_REASON = "--compare: this run goes without monkey patching, to show what it buys"


def timed_out(timeout: float) -> str:
    """The error of a cell stopped by ``--timeout``."""
    return f"the cell ran longer than --timeout {timeout:g} s; the greenlets it spawned were killed"


def report_notes(spawned: SpawnedGreenlets) -> list[str]:
    """What the report says under the cell about the greenlets it left running."""
    notes = []
    cut_short = spawned.cut_short - spawned.unstoppable  # the unstoppable have a note of their own
    if cut_short:
        notes.append(
            f"{len(cut_short)} greenlet(s) left running were still in their cleanup (finally:) "
            f"{GRACE:g} s after the cell killed them, and were killed again, which cut their cleanup short: "
            "join them (gevent.joinall) to let them finish."
        )
    if spawned.unstoppable:
        notes.append(
            f"{len(spawned.unstoppable)} greenlet(s) ignored being killed twice and are still alive: "
            "they may run again inside a later cell. Restart the kernel to be rid of them."
        )
    return notes
