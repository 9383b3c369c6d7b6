"""What one measured stretch of code cost its process: wall time, CPU time, memory.

The same ``Probe`` measures a workload run as a plain script and the same
workload run as a magic cell in a kernel, so the two figures are taken the
same way and their ratio means something:

* wall: ``perf_counter`` from ``start()`` to ``stop()``;
* CPU: ``process_time()``, user + system time of every thread of the process
  (a kernel's own threads are idle while a cell runs, and count if they are not);
* memory: how far the resident set's peak rose above the resident set at
  ``start()``. The absolute peak says more about the interpreter and what it
  imported than about the workload; a kernel starts some 60 MB above a bare
  script.

The peak is Linux's high-water mark, reset at ``start()`` (``clear_refs``),
not ``ru_maxrss``: that one also remembers peaks from before the run (a
warm-up, an import) and, after ``fork`` and ``exec``, the parent's.

This module imports nothing from the project, so a plain script measuring
itself loads neither IPython nor the magics.
"""

from __future__ import annotations

import resource
from time import perf_counter, process_time


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024  # reported in kB


def resident_bytes() -> int:
    """The process's resident set size now."""
    return _status_bytes("VmRSS")


def peak_resident_bytes() -> int:
    """The highest resident set size since the last ``reset_peak()`` (or the start)."""
    return _status_bytes("VmHWM")


def reset_peak() -> None:
    """Make the high-water mark the current resident set size again."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def raise_open_file_limit() -> None:
    """Raise the soft limit on open files to the hard one.

    Every connection is a file descriptor, and 10,000 concurrent requests need
    more than the usual soft limit of 1,024. The harness does this, not the
    workload, so the workload stays the code a student would write.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Probe:
    """``start()``, run something, ``stop()``; ``result`` holds the figures."""

    def __init__(self):
        self.result: dict | None = None
        self._started: tuple[float, float, int] | None = None

    def start(self) -> None:
        reset_peak()
        self._started = (perf_counter(), process_time(), resident_bytes())

    def stop(self) -> dict:
        wall, cpu = perf_counter(), process_time()
        wall0, cpu0, rss0 = self._started
        peak = peak_resident_bytes()
        self.result = {"wall": wall - wall0, "cpu": cpu - cpu0, "rss_growth": peak - rss0, "peak_rss": peak}
        return self.result
