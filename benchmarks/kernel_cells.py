"""Run magic cells in a real ipykernel, the way a notebook does, and measure them there.

Each ``BenchKernel`` is a fresh kernel, started with the repository as its
working directory so it can import ``benchmarks.cell_meter``. A fresh kernel
per measured configuration keeps ``ru_maxrss``, a high-water mark, about that
configuration alone. The kernel is driven by the test suite's ``Kernel``
(jupyter_client), and every figure is taken inside the kernel by a
``CellMeter``, except the round trip, which is what the notebook waits.
"""

from __future__ import annotations

import json

from tests.kernel import Kernel

from .servers import REPO, ServerLoad

_SETUP = """\
%load_ext geventtornado_magics
import json
import geventtornado_magics
from benchmarks.cell_meter import CellMeter, report_figures
from benchmarks.probe import raise_open_file_limit
raise_open_file_limit()
print(json.dumps(sorted(get_ipython().magics_manager.magics['cell'])))
"""

#: Seconds a measured cell may take before the benchmark gives up on it.
CELL_TIMEOUT = 600


class BenchKernel:
    """A fresh kernel with the extension loaded; ``has_magic`` says which magics exist."""

    def __init__(self):
        self.kernel = Kernel(cwd=str(REPO))
        self._cell_magics = set(json.loads(self.kernel.ok(_SETUP).stdout))

    def __enter__(self) -> BenchKernel:
        return self

    def __exit__(self, *exc_info) -> None:
        self.kernel.shutdown()

    def has_magic(self, name: str) -> bool:
        return name in self._cell_magics

    def run_workload(self, cell: str, url: str, n: int, warm_up: int, server_pid: int) -> dict:
        """Run ``cell`` at ``warm_up``, then measure it at ``n``; return its figures.

        The figures are the cell's own (wall, CPU, memory, from ``CellMeter``),
        the server's load around it, ``ok`` (the 200 answers the workload
        counted) and, for a magic cell, what building its report again costs.
        """
        self.kernel.ok(f"URL = {url!r}\nN = {warm_up}")
        self.kernel.ok(cell, timeout=CELL_TIMEOUT)
        self.kernel.ok(f"N = {n}\n_meter = CellMeter(get_ipython())")
        load = ServerLoad(server_pid)
        self.kernel.ok(cell, timeout=CELL_TIMEOUT)
        server = load.stop()
        report = ", **report_figures(geventtornado_magics.last_run())" if cell.startswith("%%") else ""
        measured = self._print_json("{**_meter.cells[0], 'ok': ok" + report + "}")
        return {**measured, **server}

    def time_cells(self, cells: list[str], rounds: int) -> dict[str, list[dict]]:
        """Run each of ``cells`` once, then all in turn ``rounds`` times; each run's figures.

        The first run of a magic imports its runner and renderers, so it is
        not measured. A figure is the cell as the kernel measured it (wall,
        cpu) plus ``round_trip``: from sending the cell to the kernel being idle.
        """
        for cell in cells:
            self.kernel.ok(cell)
        self.kernel.ok("_meter = CellMeter(get_ipython())")
        order, round_trips = [], []
        for _ in range(rounds):
            for cell in cells:
                reply = self.kernel.ok(cell)
                order.append(cell)
                round_trips.append(reply.finished - reply.started)
        figures = {cell: [] for cell in cells}
        for cell, measured, round_trip in zip(order, self._print_json("_meter.cells"), round_trips):
            figures[cell].append({**measured, "round_trip": round_trip})
        return figures

    def _print_json(self, expression: str):
        return json.loads(self.kernel.ok(f"print(json.dumps({expression}))").stdout)
