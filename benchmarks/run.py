"""Measure what ``%%gevent`` and ``%%tornado`` cost, and write ``benchmarks/RESULTS.md``.

    python -m benchmarks.run            # the full run: about 11 minutes on 2 cores
    python -m benchmarks.run --quick    # N = 20, one repetition, under a minute (the tests run it)
    python -m benchmarks.run --targets --out FILE   # the CPU and memory targets only: another Python's run

From the repository root, with the project installed (``pip install -e .[test]``).
The sections, each measured side by side within a repetition:

1. fixed cost: empty magic cells against an empty plain cell (``fixed_cost``);
2. fetch workloads: N concurrent requests, plain script against magic cell,
   traced and untraced, at each N and server delay (``fetch``);
3. 1,000,000 greenlet switches: memory and time of the recorders (``switches``);
4. the server check: the loopback server against the demo server (``fetch``).

The Markdown goes to ``--out`` (``benchmarks/RESULTS.md``; the quick mode
writes nowhere unless asked) and to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .fetch import fetch_records, server_records
from .fixed_cost import fixed_cost_records
from .results import markdown
from .servers import SERVERS, FastServer
from .switches import switch_records

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    sizes: tuple[int, ...]
    delays: tuple[float, ...]
    repetitions: int
    #: Fixed cost: each empty cell runs this many times per repetition...
    fixed_cost_rounds: int
    #: ...in this many repetitions (fresh kernels).
    fixed_cost_repetitions: int
    switches: int


FULL = Plan(
    sizes=(100, 1000, 10_000),
    delays=(0.0, 0.5),
    repetitions=5,
    fixed_cost_rounds=40,
    fixed_cost_repetitions=5,
    switches=1_000_000,
)
#: The issue's CPU and memory targets only (N = 1,000 and 10,000, zero delay): the run for a second Python.
TARGETS = Plan(sizes=(1000, 10_000), delays=(0.0,), repetitions=5, fixed_cost_rounds=10, fixed_cost_repetitions=1, switches=10_000)
QUICK = Plan(sizes=(20,), delays=(0.0, 0.5), repetitions=1, fixed_cost_rounds=5, fixed_cost_repetitions=1, switches=10_000)


def measure(plan: Plan, progress) -> dict[str, list]:
    """Run every section of ``plan``; return the records of each.

    ``load`` is the 1-minute load average before and after: anything else
    running on the machine shows there, and in the spread of every figure.
    """
    records = {"load": [os.getloadavg()[0]]}
    records["fixed"] = fixed_cost_records(plan.fixed_cost_rounds, plan.fixed_cost_repetitions, progress)
    server = FastServer()
    base_url = server.start()
    try:
        records["fetch"] = fetch_records(base_url, server.pid, plan.sizes, plan.delays, plan.repetitions, progress)
    finally:
        server.stop()
    records["switches"] = switch_records(plan.switches, plan.repetitions, progress)
    records["servers"] = server_records(SERVERS, max(plan.sizes), plan.repetitions, progress)
    records["load"].append(os.getloadavg()[0])
    return records


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20, one repetition: checks the harness, not the figures")
    parser.add_argument("--targets", action="store_true", help="N = 1,000 and 10,000 at zero delay, 5 repetitions: the CPU and memory targets only")
    parser.add_argument("--repetitions", type=int, help="repetitions of the fetch workloads, instead of the plan's")
    parser.add_argument("--out", type=Path, help=f"where to write the Markdown (default: {RESULTS.name}, none with --quick)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else TARGETS if args.targets else FULL
    if args.repetitions:
        plan = dataclasses.replace(plan, repetitions=args.repetitions)
    out = args.out or (None if args.quick or args.targets else RESULTS)

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    started = time.monotonic()
    records = measure(plan, progress)
    command = "python -m benchmarks.run" + "".join(f" {shlex.quote(arg)}" for arg in (argv or sys.argv[1:]))
    text = markdown(records, plan, command=command, seconds=time.monotonic() - started)
    if out is not None:
        out.write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
