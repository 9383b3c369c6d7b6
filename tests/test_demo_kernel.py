"""The demo server as a kernel sees it: one per kernel, its own port, gone when the kernel is."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from .kernel import Kernel

pytestmark = pytest.mark.kernel


def demo_children(kernel_pid: int) -> list[int]:
    """Pids of the demo servers whose parent is ``kernel_pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == kernel_pid and b"geventtornado_magics.demo" in command:
            found.append(int(entry.name))
    return found


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, waiting for a parent that is gone to reap it
            return True
        time.sleep(0.05)
    return False


def started_kernel() -> tuple[Kernel, int, str]:
    kernel = Kernel()
    reply = kernel.ok("%load_ext geventtornado_magics\nbase = %demo_server\nimport os\nprint(os.getpid(), base)")
    pid, url = reply.stdout.split()
    return kernel, int(pid), url


def test_each_kernel_has_its_own_server_on_its_own_port():
    first, first_pid, first_url = started_kernel()
    second, second_pid, second_url = started_kernel()
    try:
        assert first_url != second_url and first_url.startswith("http://127.0.0.1:")
        assert len(demo_children(first_pid)) == 1 and len(demo_children(second_pid)) == 1
        again = first.ok("again = %demo_server\nprint(again)").stdout.strip()
        assert again == first_url, "started on first use, then reused"
    finally:
        first.shutdown()
        second.shutdown()


def test_server_stops_when_the_kernel_shuts_down():
    kernel, pid, _ = started_kernel()
    (server,) = demo_children(pid)
    kernel.shutdown()
    assert gone(server)


def test_server_stops_when_the_kernel_is_killed():
    kernel, pid, _ = started_kernel()
    (server,) = demo_children(pid)
    os.kill(pid, signal.SIGKILL)
    try:
        assert gone(server)
    finally:
        kernel.shutdown()


def test_server_is_restarted_if_it_died():
    kernel, pid, url = started_kernel()
    try:
        (server,) = demo_children(pid)
        os.kill(server, signal.SIGKILL)
        assert gone(server)
        reply = kernel.ok("import urllib.request\nbase = %demo_server\nprint(urllib.request.urlopen(base + '/delay/0').status)")
        assert reply.stdout.strip() == "200"
        assert demo_children(pid) and demo_children(pid) != [server]
    finally:
        kernel.shutdown()
