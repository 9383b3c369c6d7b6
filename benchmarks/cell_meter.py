"""Inside a kernel or shell: measure every cell it runs, and the report of a magic cell.

A cell cannot time itself when it is a magic cell: the magic owns its body.
IPython's ``pre_run_cell`` and ``post_run_cell`` events fire just before the
cell is transformed and just after it ran, displayed its report and set
``Out``: so a ``Probe`` started and stopped there measures everything the
magic adds, and nothing of the messaging around the cell.
"""

from __future__ import annotations

from time import perf_counter

from .probe import Probe


class CellMeter:
    """Records ``{"cell": first line, wall, cpu, rss_growth, peak_rss}`` for each cell run."""

    def __init__(self, shell):
        self.cells: list[dict] = []
        self._probe = Probe()
        self._first_line: str | None = None
        shell.events.register("pre_run_cell", self._before)
        shell.events.register("post_run_cell", self._after)

    def _before(self, info) -> None:
        self._first_line = info.raw_cell.partition("\n")[0]
        self._probe.start()

    def _after(self, result) -> None:
        if self._first_line is None:  # the cell that made this meter: it did not see it start
            return
        self.cells.append({"cell": self._first_line, **self._probe.stop()})
        self._first_line = None


def report_figures(run) -> dict:
    """What building ``run``'s report costs: seconds, and the size of its HTML in bytes."""
    started = perf_counter()
    bundle = run._repr_mimebundle_()
    return {
        "report_build": perf_counter() - started,
        "report_bytes": len(bundle["text/html"].encode()),
        "events": len(run.events),
        "dropped_events": run.dropped.get("events", 0),
    }
