"""Drive a real ipykernel the way a notebook does, and collect what a user would see."""

from __future__ import annotations

import queue
import time
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
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=cwd)
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(self, code: str, timeout: float = 60, interrupt_after: float | None = None) -> Reply:
        """Run ``code`` as a cell; optionally send Ctrl-C ``interrupt_after`` seconds in."""
        started = time.monotonic()
        msg_id = self.client.execute(code, allow_stdin=False)
        reply = Reply(status="", started=started)
        deadline = started + timeout
        interrupted = interrupt_after is None
        idle = False
        while not idle:
            if not interrupted and time.monotonic() - started >= interrupt_after:
                self.manager.interrupt_kernel()
                interrupted = True
            wait = 0.05 if not interrupted else max(deadline - time.monotonic(), 0.01)
            try:
                msg = self.client.get_iopub_msg(timeout=min(wait, 1.0))
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"cell did not finish in {timeout} s:\n{code}") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
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
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        shell_reply = self.client.get_shell_msg(timeout=max(deadline - time.monotonic(), 5))
        reply.status = shell_reply["content"]["status"]
        reply.finished = time.monotonic()
        return reply

    def ok(self, code: str, timeout: float = 60) -> Reply:
        """Run ``code`` and insist it succeeded."""
        reply = self.execute(code, timeout=timeout)
        assert reply.status == "ok", reply.text
        return reply

    def alive(self) -> bool:
        return self.manager.is_alive()

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
