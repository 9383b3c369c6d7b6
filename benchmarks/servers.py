"""The loopback servers the workloads fetch from, and how busy each run kept them.

A client-side ratio only means something if the server kept up: if the
server saturates its core, both sides of the ratio wait for it and the ratio
drifts towards 1. So every measured run records, around exactly the measured
stretch, the server's CPU time (``/proc/<pid>/stat``) and the kernel's count
of connections dropped because the listen queue was full
(``ListenOverflows``); the results table shows both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from geventtornado_magics.demo import DemoServer

REPO = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


class FastServer:
    """``benchmarks.loopback_server`` as a child process: ``start()`` returns its URL."""

    def __init__(self):
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def start(self) -> str:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loopback_server"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self._process.stdout.readline().strip()

    def stop(self) -> None:
        self._process.stdin.close()  # its signal to exit
        self._process.wait(10)
        self._process.stdout.close()


SERVERS = {"fast": FastServer, "demo": DemoServer}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def listen_overflows() -> int:
    """Connections this network namespace dropped because a listen queue was full."""
    with open("/proc/net/netstat") as netstat:
        lines = [line.split() for line in netstat if line.startswith("TcpExt:")]
    header, values = lines
    return int(values[header.index("ListenOverflows")])


@dataclass
class ServerLoad:
    """The server's share of a measured run: start it before, ``stop()`` after."""

    pid: int

    def __post_init__(self):
        self._cpu = cpu_seconds(self.pid)
        self._overflows = listen_overflows()

    def stop(self) -> dict:
        return {
            "server_cpu": cpu_seconds(self.pid) - self._cpu,
            "overflows": listen_overflows() - self._overflows,
        }
