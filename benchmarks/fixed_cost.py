"""What an empty magic cell costs against an empty plain cell, in a kernel and in-process.

Three views of the same cost:

* ``kernel``: inside a real kernel, from ``pre_run_cell`` to ``post_run_cell``;
* ``round trip``: what the notebook waits, from sending the cell to the kernel
  going idle, including the report's trip over ZeroMQ;
* ``in-process``: ``run_cell`` on an in-process shell, no kernel at all.

Each repetition runs every empty cell ``rounds`` times, interleaved, in a fresh
kernel (or process) after one unmeasured run of each; a record is the median
of those rounds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from .kernel_cells import BenchKernel
from .servers import REPO
from .workloads import empty_cells


def kernel_records(rounds: int, rep: int) -> list[dict]:
    records = []
    with BenchKernel() as kernel:
        cells = empty_cells(kernel.has_magic)
        figures = kernel.time_cells(list(cells.values()), rounds)
        for label, cell in cells.items():
            runs = figures[cell]
            kernel_side = {key: statistics.median(run[key] for run in runs) for key in ("wall", "cpu")}
            records.append({"where": "kernel", "cell": label, "rep": rep, **kernel_side})
            round_trip = statistics.median(run["round_trip"] for run in runs)
            records.append({"where": "round trip", "cell": label, "rep": rep, "wall": round_trip})
    return records


def in_process_records(rounds: int, rep: int) -> list[dict]:
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.inprocess", "fixed-cost", str(rounds)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        {"where": "in-process", "cell": label, "rep": rep, **figures} for label, figures in json.loads(output).items()
    ]


def fixed_cost_records(rounds: int, repetitions: int, progress) -> list[dict]:
    records = []
    for rep in range(repetitions):
        progress(f"fixed cost: {rounds} rounds of empty cells, repetition {rep + 1}")
        records += kernel_records(rounds, rep)
        records += in_process_records(rounds, rep)
    return records

