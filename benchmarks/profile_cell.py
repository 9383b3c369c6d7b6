"""Profile one workload cell on an in-process shell: where the magic's time goes.

    python -m benchmarks.profile_cell gevent 1000                  # cProfile, traced
    python -m benchmarks.profile_cell gevent 1000 --untraced
    python -m benchmarks.profile_cell gevent 1000 --pyinstrument   # needs pip install pyinstrument

cProfile counts every call, which is what finds a recorder's per-switch or
per-request cost (its ``ncalls`` is the number of switches or requests), but
inflates small functions; pyinstrument samples, which keeps the proportions
honest. The workload fetches from the benchmarks' own loopback server, warm,
exactly as ``benchmarks.run`` measures it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from .inprocess import make_shell, run_cell
from .plain import WARM_UP
from .servers import FastServer
from .workloads import MAGIC_OPTIONS, WORKLOADS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_cell", description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(WORKLOADS))
    parser.add_argument("n", type=int)
    parser.add_argument("--untraced", action="store_true", help="profile the cell with tracing off")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds the server waits before answering")
    parser.add_argument("--pyinstrument", action="store_true", help="sample with pyinstrument instead of cProfile")
    parser.add_argument("--top", type=int, default=30, help="functions to list (cProfile)")
    args = parser.parse_args(argv)

    server = FastServer()
    url = f"{server.start()}/delay/{args.delay:g}"
    try:
        shell = make_shell()
        cell = WORKLOADS[args.model].cell(MAGIC_OPTIONS["untraced" if args.untraced else "traced"])
        shell.user_ns.update(URL=url, N=WARM_UP)
        run_cell(shell, cell)
        shell.user_ns["N"] = args.n
        if args.pyinstrument:
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                run_cell(shell, cell)
            print(profiler.output_text(unicode=True, show_all=False))
        else:
            with cProfile.Profile() as profiler:
                run_cell(shell, cell)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
