"""A cell of 1,000,000 greenlet switches: what recording them costs in memory and time.

The switch recorder keeps the first ``Limits.events`` switches and counts the
rest, so memory must stay bounded however many switches a cell makes. Each
measurement is ``python -m benchmarks.inprocess switches`` in a fresh process,
as a plain cell (no magic), and as ``%%gevent`` with tracing on and off.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .servers import REPO
from .workloads import MAGIC_OPTIONS

MODES = ("plain", *MAGIC_OPTIONS)


def switch_records(count: int, repetitions: int, progress) -> list[dict]:
    records = []
    for rep in range(repetitions):
        for mode in MODES:
            progress(f"switches: {count:,} in a {mode} cell, repetition {rep + 1}")
            output = subprocess.run(
                [sys.executable, "-m", "benchmarks.inprocess", "switches", str(count), mode],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            records.append({"mode": mode, "rep": rep, **json.loads(output)})
    return records
