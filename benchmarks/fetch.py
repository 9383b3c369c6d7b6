"""The fetch workloads, side by side: plain scripts and magic cells, against one server.

Every configuration of one repetition runs against the same server, one
after another, so drift on the machine (another process, a warmer CPU)
touches them alike; the repetitions then give the spread. Each record is a
dict of figures plus what was run: ``model``, ``run_as`` (see ``ways_to_run``),
``n``, ``delay``, ``rep``, and ``missing`` when a magic is not there to run.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .kernel_cells import BenchKernel
from .plain import WARM_UP
from .servers import REPO, ServerLoad
from .workloads import MAGIC_OPTIONS, WORKLOADS



def ways_to_run(model: str) -> tuple[str, ...]:
    """``plain`` (the script); ``plain cell`` (in a kernel, no magic) where the
    workload can run so, to tell the kernel's cost from the magic's; then the
    magic at each trace level (``MAGIC_OPTIONS``)."""
    plain_cell = ("plain cell",) if WORKLOADS[model].runs_as_plain_cell else ()
    return ("plain", *plain_cell, *MAGIC_OPTIONS)


def run_plain(model: str, url: str, n: int, server_pid: int) -> dict:
    """The workload as a plain script in a fresh interpreter (``benchmarks.plain``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.plain", model, url, str(n)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with process:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the plain {model} script failed to warm up")
        load = ServerLoad(server_pid)
        process.stdin.write("go\n")
        process.stdin.flush()
        figures = json.loads(process.stdout.readline())
        return {**figures, **load.stop()}


def run_cell(model: str, run_as: str, url: str, n: int, server_pid: int) -> dict:
    """The workload as a cell in a fresh kernel; ``missing`` if its magic is not there."""
    workload = WORKLOADS[model]
    with BenchKernel() as kernel:
        if run_as == "plain cell":
            return kernel.run_workload(workload.plain_cell, url, n, WARM_UP, server_pid)
        if not kernel.has_magic(model):
            return {"missing": True}
        return kernel.run_workload(workload.cell(MAGIC_OPTIONS[run_as]), url, n, WARM_UP, server_pid)


def measure(model: str, run_as: str, url: str, n: int, server_pid: int) -> dict:
    if run_as == "plain":
        figures = run_plain(model, url, n, server_pid)
    else:
        figures = run_cell(model, run_as, url, n, server_pid)
    if not figures.get("missing") and figures["ok"] != n:
        raise RuntimeError(f"{model} {run_as} at N={n}: only {figures['ok']} of {n} requests succeeded")
    return figures


def fetch_records(base_url: str, server_pid: int, sizes, delays, repetitions: int, progress) -> list[dict]:
    """Every model, way of running, N and delay, ``repetitions`` times, interleaved."""
    records = []
    for rep in range(repetitions):
        for n in sizes:
            for delay in delays:
                url = f"{base_url}/delay/{delay:g}"
                for model in WORKLOADS:
                    for run_as in ways_to_run(model):
                        progress(f"fetch: {model} {run_as} N={n:,} delay={delay:g} s, repetition {rep + 1}")
                        figures = measure(model, run_as, url, n, server_pid)
                        records.append({"model": model, "run_as": run_as, "n": n, "delay": delay, "rep": rep, **figures})
    return records


def server_records(servers: dict, n: int, repetitions: int, progress) -> list[dict]:
    """The plain gevent script at ``n`` against each server: is the server what limits it?"""
    records = []
    for rep in range(repetitions):
        for name, make_server in servers.items():
            progress(f"server check: plain gevent N={n:,} against the {name} server, repetition {rep + 1}")
            server = make_server()
            try:
                figures = run_plain("gevent", f"{server.start()}/delay/0", n, server.pid)
            finally:
                server.stop()
            records.append({"server": name, "n": n, "rep": rep, **figures})
    return records
