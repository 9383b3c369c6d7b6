"""Measurements on an in-process IPython shell, each in a fresh Python process.

    python -m benchmarks.inprocess fixed-cost ROUNDS
    python -m benchmarks.inprocess switches SWITCHES {plain,traced,untraced}

``fixed-cost`` times empty cells, plain and magic, the way ``run_cell``
runs them without a kernel: what the magic itself adds, with no messaging.
``switches`` runs a cell that only switches greenlets, about ``SWITCHES``
times, as a plain cell or a ``%%gevent`` cell with tracing on or off, and
measures the memory the recorders and the report take. Each prints one line of JSON.

A process of its own per measurement keeps ``ru_maxrss`` about that
measurement alone. The shell is IPython's core ``InteractiveShell``, the one
ipykernel's shell extends; displays are captured, so the report is built in
full, as a notebook would receive it.
"""

from __future__ import annotations

import argparse
import json
import statistics

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from .cell_meter import CellMeter, report_figures
from .probe import raise_open_file_limit
from .workloads import MAGIC_OPTIONS, SWITCHES, empty_cells

#: Greenlets spinning in the ``switches`` cell; each makes 2 switches a turn.
_SPINNERS = 100


def make_shell() -> InteractiveShell:
    """An in-process shell with the extension loaded."""
    raise_open_file_limit()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "geventtornado_magics")
    return shell


def run_cell(shell: InteractiveShell, source: str) -> None:
    """Run ``source`` as a notebook would, displays captured; raise what the cell raised."""
    with capture_output():
        result = shell.run_cell(source)
    result.raise_error()


def fixed_cost(rounds: int) -> dict[str, dict]:
    """For each empty cell, the median wall and CPU seconds over ``rounds`` runs, interleaved."""
    shell = make_shell()
    cells = empty_cells(lambda name: name in shell.magics_manager.magics["cell"])
    for cell in cells.values():  # the first run of a magic imports its runner and renderers
        run_cell(shell, cell)
    meter = CellMeter(shell)
    for _ in range(rounds):
        for cell in cells.values():
            run_cell(shell, cell)
    figures = {}
    for label, cell in cells.items():
        runs = [run for run in meter.cells if run["cell"] == cell.partition("\n")[0]]
        figures[label] = {key: statistics.median(run[key] for run in runs) for key in ("wall", "cpu")}
    return figures


def switches(count: int, mode: str) -> dict:
    """Run a cell making about ``count`` switches: its figures, and its report's.

    ``mode`` is ``plain`` (no magic) or a key of ``MAGIC_OPTIONS``.
    """
    shell = make_shell()
    shell.user_ns.update(GREENLETS=_SPINNERS, TURNS=1)
    magic = "" if mode == "plain" else f"%%gevent {MAGIC_OPTIONS[mode]}".rstrip() + "\n"
    run_cell(shell, magic + SWITCHES)  # warm-up: imports, the hub
    shell.user_ns["TURNS"] = max(count // (2 * _SPINNERS), 1)
    meter = CellMeter(shell)
    run_cell(shell, magic + SWITCHES)
    (figures,) = meter.cells
    if magic:
        import geventtornado_magics

        run = geventtornado_magics.last_run()
        figures.update(report_figures(run), switches=len(run.events) + run.dropped.get("events", 0))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fixed = commands.add_parser("fixed-cost")
    fixed.add_argument("rounds", type=int)
    spin = commands.add_parser("switches")
    spin.add_argument("count", type=int)
    spin.add_argument("mode", choices=["plain", *MAGIC_OPTIONS])
    args = parser.parse_args(argv)
    if args.command == "fixed-cost":
        print(json.dumps(fixed_cost(args.rounds)))
    else:
        print(json.dumps(switches(args.count, args.mode)))


if __name__ == "__main__":
    main()
