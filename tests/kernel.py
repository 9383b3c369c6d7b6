"""Drive a real ipykernel the way a notebook does, and collect what a user would see.

Every wait has a deadline that holds however chatty the kernel is, and every message is matched to
the request it answers by ``parent_header.msg_id``: a reply left queued by something else (say
``wait_for_ready``'s repeated ``kernel_info_request`` on a slow start) is never taken for a cell's.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from jupyter_client.manager import KernelManager


@dataclass
class Reply:
    """What one executed cell produced."""

    status: str
    stdout: str = ""
    stderr: str = ""
    #: (arrival time, text) of each stdout chunk, to check output is live.
    stream_times: list[tuple[float, str]] = field(default_factory=list)
    displays: list[dict] = field(default_factory=list)
    result: dict | None = None
    error: dict | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def html(self) -> str:
        return "".join(d.get("text/html", "") for d in self.displays)

    @property
    def text(self) -> str:
        """Everything plain-text a user sees: streams, displays, the value."""
        parts = [self.stdout, self.stderr]
        parts += [d.get("text/plain", "") for d in self.displays]
        if self.result:
            parts.append(self.result.get("text/plain", ""))
        if self.error:
            parts.append("\n".join(self.error["traceback"]))
        return "\n".join(parts)

    @property
    def value(self) -> str | None:
        return None if self.result is None else self.result.get("text/plain")

    @property
    def traceback(self) -> str:
        return "" if self.error is None else "\n".join(self.error["traceback"])


class Kernel:
    """A started ipykernel with a blocking client."""

    def __init__(self, cwd: str | None = None):
        # Unix sockets in a directory of its own, not TCP ports: jupyter_client picks free ports,
        # then the kernel binds them, and on a busy machine another process can take one in
        # between ("Address already in use"); the kernel dies and every test waits for it.
        self._sockets = tempfile.mkdtemp(prefix="gtm-kernel-")
        self.manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(self._sockets, "ipc"))
        self.manager.start_kernel(cwd=cwd)
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def send(self, code: str, stop_on_error: bool = False) -> str:
        """Send ``code`` as a cell without waiting; returns the request's msg_id.

        ``stop_on_error`` is off by default: ipykernel aborts every execute request that reaches it
        within a moment of a failed cell, so with it on, whether the cell after a failing one runs
        would depend on timing. The harness sends one cell at a time, after the previous reply, so
        it never has a queued cell it means to abort; a test about aborting asks for it.
        """
        return self.client.execute(code, allow_stdin=False, stop_on_error=stop_on_error)

    def iopub(self, deadline: float, interrupt_at: float | None = None) -> Iterator[dict]:
        """Every iopub message, whoever it answers, until the caller stops or ``deadline`` passes.

        ``interrupt_at``: when to send Ctrl-C (SIGINT), a ``time.monotonic()`` instant.
        """
        while True:
            now = time.monotonic()
            if interrupt_at is not None and now >= interrupt_at:
                self.manager.interrupt_kernel()
                interrupt_at = None
            if now > deadline:
                raise TimeoutError("no end of the kernel's output before the deadline")
            wait = min(deadline, interrupt_at or deadline, now + 1.0) - now
            try:
                yield self.client.get_iopub_msg(timeout=max(wait, 0.01))
            except queue.Empty:
                continue

    def until_idle(self, msg_id: str, deadline: float, interrupt_at: float | None = None) -> Iterator[dict]:
        """The iopub messages of request ``msg_id``, up to (not including) its ``idle`` status."""
        for msg in self.iopub(deadline, interrupt_at):
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return
            yield msg

    def shell_reply(self, msg_id: str, timeout: float = 10) -> dict:
        """The shell reply to request ``msg_id``; replies to other requests are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no shell reply to {msg_id} in {timeout} s")
            try:
                msg = self.client.get_shell_msg(timeout=remaining)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def execute(
        self, code: str, timeout: float = 60, interrupt_after: float | None = None, stop_on_error: bool = False
    ) -> Reply:
        """Run ``code`` as a cell; optionally send Ctrl-C ``interrupt_after`` seconds in."""
        started = time.monotonic()
        msg_id = self.send(code, stop_on_error=stop_on_error)
        reply = Reply(status="", started=started)
        interrupt_at = None if interrupt_after is None else started + interrupt_after
        try:
            for msg in self.until_idle(msg_id, started + timeout, interrupt_at):
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    setattr(reply, content["name"], getattr(reply, content["name"]) + content["text"])
                    if content["name"] == "stdout":
                        reply.stream_times.append((time.monotonic() - started, content["text"]))
                elif kind == "display_data":
                    reply.displays.append(content["data"])
                elif kind == "execute_result":
                    reply.result = content["data"]
                elif kind == "error":
                    reply.error = content
        except TimeoutError:
            raise TimeoutError(f"cell did not finish in {timeout} s:\n{code}") from None
        reply.status = self.shell_reply(msg_id, timeout=max(started + timeout - time.monotonic(), 10))["content"][
            "status"
        ]
        reply.finished = time.monotonic()
        return reply

    def ok(self, code: str, timeout: float = 60) -> Reply:
        """Run ``code`` and insist it succeeded."""
        reply = self.execute(code, timeout=timeout)
        assert reply.status == "ok", reply.text
        return reply

    def requests_overlapped(self) -> bool:
        """Whether every request of the last run started before the first one ended: they ran at once.

        The proof of concurrency that holds on a loaded machine: a cell's wall time grows with the
        load, the order of its requests' starts and ends does not.
        """
        reply = self.ok(
            "import geventtornado_magics as _gtm\n"
            "_rows = _gtm.last_run().requests\n"
            "print(bool(_rows) and max(r.start for r in _rows) < min(r.end for r in _rows))\n"
            "del _gtm, _rows"
        )
        return reply.stdout.strip() == "True"

    def alive(self) -> bool:
        return self.manager.is_alive()

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self._sockets, ignore_errors=True)
