"""Turn the benchmark's records into the Markdown of ``RESULTS.md``.

Every figure is the median over the repetitions, with the range [min–max]
beside it. A ratio is taken within one repetition (the magic cell against the
plain script measured next to it) and then summarised, so slow drift on the
machine cancels out of it rather than into it.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
from collections.abc import Callable, Iterable

from .fetch import ways_to_run
from .switches import MODES
from .workloads import EMPTY_CELLS, MAGIC_OPTIONS

_MB = 1e6
_VERSIONS = ("gevent", "greenlet", "tornado", "ipython", "ipykernel")

#: The targets the issue set; each is checked against the medians.
CPU_TARGET = {"traced": 1.25, "untraced": 1.05}
#: The sizes the CPU targets are checked at, and the one the memory target is.
TARGET_SIZES = (1000, 10_000)
TARGET_N = 1000
#: Traced peak memory within this many times the plain script's, at ``TARGET_N``.
MEMORY_TARGET = 1.25
FIXED_COST_TARGET = 0.005
REPORT_N = 10_000
REPORT_SECONDS, REPORT_BYTES = 0.5, 500_000
SWITCH_MEMORY = 150 * _MB
#: Cost is "linear" if a request's CPU grows from N = 1,000 to the largest N
#: by no more than this times as much as the plain script's does.
LINEAR_SLACK = 1.25


# -- figures ------------------------------------------------------------------


def number(value: float) -> str:
    """Three significant figures, thousands separated: ``0.0123``, ``1.23``, ``12,345``."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def spread(values: list[float], scale: float = 1.0, sign: bool = False) -> str:
    """``median [min–max]`` of ``values`` times ``scale``; just the value when there is one."""
    scaled = [value * scale for value in values]
    middle = number(statistics.median(scaled))
    if sign and not middle.startswith("-"):
        middle = "+" + middle
    if len(scaled) == 1:
        return middle
    return f"{middle} [{number(min(scaled))}–{number(max(scaled))}]"


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def select(records: list[dict], **match) -> list[dict]:
    return [record for record in records if all(record.get(key) == value for key, value in match.items())]


def paired(records: list[dict], baseline: dict, other: dict, figure: Callable[[dict, dict], float]) -> list[float]:
    """``figure(base, other)`` for each repetition that has both records."""
    bases = {record["rep"]: record for record in select(records, **baseline)}
    return [figure(bases[record["rep"]], record) for record in select(records, **other) if record["rep"] in bases]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _magic_name(model: str, run_as: str) -> str:
    """How a row names the way the workload ran: ``plain gevent script``, ``%%tornado --no-trace``."""
    if run_as == "plain":
        return f"plain {'Tornado' if model == 'tornado' else 'gevent'} script"
    if run_as == "plain cell":
        return "plain cell (top-level `await`)"
    return f"`%%{model}`" + (" `--no-trace`" if run_as == "untraced" else "")


# -- sections -----------------------------------------------------------------


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in _VERSIONS)
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {versions}"
    )


def headline(fetch: list[dict], fixed: list[dict]) -> list[str]:
    rows = []
    for model in ("gevent", "tornado"):
        if not _has(fixed, model):
            rows.append([f"Empty `%%{model}` cell against an empty plain cell, in a kernel", "–", "–", "not measured: no such magic"])
        else:
            rows.append(
                [
                    f"Empty `%%{model}` cell against an empty plain cell, in a kernel (ms)",
                    spread([r["wall"] for r in select(fixed, where="kernel", cell="plain")], 1000),
                    spread([r["wall"] for r in select(fixed, where="kernel", cell=model)], 1000),
                    spread(_fixed_deltas(fixed, "kernel", model, "wall"), 1000, sign=True) + " ms",
                ]
            )
        for figure in ("wall", "cpu"):
            rows.append(_headline_fetch(fetch, model, figure))
    return table(["figure", "plain", "magic", "magic against plain"], rows)


def _headline_fetch(fetch: list[dict], model: str, figure: str) -> list[str]:
    what = {"wall": "wall", "cpu": "CPU"}[figure]
    label = f"{TARGET_N:,} concurrent fetches (zero delay), traced `%%{model}` against the plain script: {what} (s)"
    plain = select(fetch, model=model, run_as="plain", n=TARGET_N, delay=0)
    magic = select(fetch, model=model, run_as="traced", n=TARGET_N, delay=0)
    if not plain:
        return [label, "–", "–", f"not measured: N = {TARGET_N:,} is not in this run"]
    if _missing(magic):
        return [label, spread([r[figure] for r in plain]), "–", "not measured: no such magic"]
    ratios = _ratios(fetch, model, "traced", TARGET_N, 0, figure)
    return [label, spread([r[figure] for r in plain]), spread([r[figure] for r in magic]), spread(ratios) + "x"]


def fixed_cost_tables(fixed: list[dict]) -> list[str]:
    views = [("kernel", "wall"), ("kernel", "cpu"), ("round trip", "wall"), ("in-process", "wall"), ("in-process", "cpu")]
    header = ["cell", "kernel: wall", "kernel: CPU", "notebook round trip", "in-process: wall", "in-process: CPU"]
    labels = [label for label in EMPTY_CELLS if select(fixed, cell=label)]
    absolute = [
        [f"`{_first_line(label)}`"] + [spread([r[key] for r in select(fixed, where=where, cell=label)], 1000) for where, key in views]
        for label in labels
    ]
    extra = [
        [f"`{_first_line(label)}`"] + [spread(_fixed_deltas(fixed, where, label, key), 1000, sign=True) for where, key in views]
        for label in labels
        if label != "plain"
    ]
    return (
        ["Milliseconds per empty cell:", ""]
        + table(header, absolute)
        + ["", "Milliseconds over an empty plain cell, measured in the same repetition:", ""]
        + table(header, extra)
    )


def _first_line(label: str) -> str:
    return EMPTY_CELLS[label].partition("\n")[0]


def _fixed_deltas(fixed: list[dict], where: str, label: str, key: str) -> list[float]:
    return paired(fixed, {"where": where, "cell": "plain"}, {"where": where, "cell": label}, lambda b, o: o[key] - b[key])


def _has(fixed: list[dict], model: str) -> bool:
    return bool(select(fixed, where="kernel", cell=model))


def _missing(records: list[dict]) -> bool:
    return not records or any(record.get("missing") for record in records)


def _ratios(fetch, model, run_as, n, delay, figure) -> list[float]:
    return paired(
        fetch,
        {"model": model, "run_as": "plain", "n": n, "delay": delay},
        {"model": model, "run_as": run_as, "n": n, "delay": delay},
        lambda base, other: other[figure] / base[figure],
    )


def fetch_table(fetch: list[dict]) -> list[str]:
    header = [
        "model", "N", "delay", "run as", "wall (s)", "CPU (s)", "CPU per request (µs)", "peak RSS growth (MB)",
        "wall ratio", "CPU ratio", "memory ratio", "server CPU / wall", "listen overflows",
    ]  # fmt: skip
    rows = []
    for model, n, delay in _unique(fetch, "model", "n", "delay"):
        for run_as in ways_to_run(model):
            records = select(fetch, model=model, n=n, delay=delay, run_as=run_as)
            name = _magic_name(model, run_as)
            if _missing(records):
                rows.append([model, f"{n:,}", f"{delay:g} s", name] + ["–"] * 8 + ["no such magic"])
                continue
            ratios = [
                spread(_ratios(fetch, model, run_as, n, delay, figure)) + "x" if run_as != "plain" else "1"
                for figure in ("wall", "cpu", "rss_growth")
            ]
            rows.append(
                [model, f"{n:,}", f"{delay:g} s", name]
                + [spread([r["wall"] for r in records]), spread([r["cpu"] for r in records])]
                + [spread([r["cpu"] / n for r in records], 1e6), spread([r["rss_growth"] for r in records], 1 / _MB)]
                + ratios
                + [spread([r["server_cpu"] / r["wall"] for r in records]), spread([r["overflows"] for r in records])]
            )
    return table(header, rows)


def overhead_table(fetch: list[dict]) -> list[str]:
    """CPU a cell adds per request, at each N: constant if the cost is linear in N."""
    sizes = sorted({record["n"] for record in fetch})
    header = ["model", "delay", "run as"] + [f"N = {n:,}" for n in sizes]
    rows = []
    for model, delay in _unique(fetch, "model", "delay"):
        for run_as in ways_to_run(model)[1:]:
            cells = []
            for n in sizes:
                if _missing(select(fetch, model=model, run_as=run_as, n=n, delay=delay)):
                    cells.append("–")
                else:
                    cells.append(spread(_overheads(fetch, model, run_as, n, delay), 1e6))
            rows.append([model, f"{delay:g} s", _magic_name(model, run_as)] + cells)
    return table(header, rows)


def _overheads(fetch, model, run_as, n, delay) -> list[float]:
    return paired(
        fetch,
        {"model": model, "run_as": "plain", "n": n, "delay": delay},
        {"model": model, "run_as": run_as, "n": n, "delay": delay},
        lambda base, other: (other["cpu"] - base["cpu"]) / n,
    )


def report_table(fetch: list[dict], switches: list[dict]) -> list[str]:
    header = ["cell", "N", "delay", "switches or callbacks kept", "dropped past the cap", "build (ms)", "HTML (KB)"]
    rows = []
    for model, n, delay in _unique(fetch, "model", "n", "delay"):
        for run_as in MAGIC_OPTIONS:
            records = select(fetch, model=model, n=n, delay=delay, run_as=run_as)
            if _missing(records):
                continue
            rows.append(
                [_magic_name(model, run_as), f"{n:,}", f"{delay:g} s"]
                + [spread([r[key] for r in records]) for key in ("events", "dropped_events")]
                + [spread([r["report_build"] for r in records], 1000), spread([r["report_bytes"] for r in records], 1e-3)]
            )
    for mode in MODES[1:]:
        records = select(switches, mode=mode)
        rows.append(
            [_magic_name("gevent", mode) + " switching only", "–", "–"]
            + [spread([r[key] for r in records]) for key in ("events", "dropped_events")]
            + [spread([r["report_build"] for r in records], 1000), spread([r["report_bytes"] for r in records], 1e-3)]
        )
    return table(header, rows)


def switches_table(switches: list[dict]) -> list[str]:
    header = ["cell", "switches the cell makes", "wall (s)", "CPU (s)", "peak RSS growth (MB)", "CPU ratio"]
    rows = []
    for mode in MODES:
        records = select(switches, mode=mode)
        made = spread([r["switches"] for r in select(switches, mode="traced")])
        ratio = "1" if mode == "plain" else spread(paired(switches, {"mode": "plain"}, {"mode": mode}, lambda b, o: o["cpu"] / b["cpu"])) + "x"
        rows.append(
            ["plain cell (no magic)" if mode == "plain" else _magic_name("gevent", mode), made]
            + [spread([r["wall"] for r in records]), spread([r["cpu"] for r in records])]
            + [spread([r["rss_growth"] for r in records], 1 / _MB), ratio]
        )
    return table(header, rows)


def server_table(servers: list[dict]) -> list[str]:
    header = ["server", "N", "client wall (s)", "client CPU (s)", "server CPU (s)", "server CPU / wall", "listen overflows"]
    rows = [
        [name, f"{n:,}"]
        + [spread([r[key] for r in records]) for key in ("wall", "cpu", "server_cpu")]
        + [spread([r["server_cpu"] / r["wall"] for r in records]), spread([r["overflows"] for r in records])]
        for name, n in _unique(servers, "server", "n")
        for records in [select(servers, server=name, n=n)]
    ]
    return table(header, rows)


def targets_table(fetch: list[dict], fixed: list[dict], switches: list[dict]) -> list[str]:
    rows = []
    for run_as, limit in CPU_TARGET.items():
        for n in TARGET_SIZES:
            checks = [
                (f"{model}, {delay:g} s", median(_ratios(fetch, model, run_as, n, delay, "cpu")))
                for model, delay in _unique(fetch, "model", "delay")
                if not _missing(select(fetch, model=model, run_as=run_as, n=n, delay=delay))
            ]
            what = "traced" if run_as == "traced" else "tracing off"
            rows.append(_target(f"{what}: CPU within {limit}x of the plain script at N = {n:,}", checks, lambda r: r <= limit, "x"))
    checks = [
        (f"{model}, {delay:g} s", median(_ratios(fetch, model, "traced", TARGET_N, delay, "rss_growth")))
        for model, delay in _unique(fetch, "model", "delay")
        if not _missing(select(fetch, model=model, run_as="traced", n=TARGET_N, delay=delay))
    ]
    rows.append(
        _target(f"traced: peak memory within {MEMORY_TARGET}x of the plain script at N = {TARGET_N:,}", checks, lambda r: r <= MEMORY_TARGET, "x")
    )
    checks = [
        (_first_line(label), median(_fixed_deltas(fixed, "kernel", label, "wall")) * 1000)
        for label in EMPTY_CELLS
        if label != "plain" and select(fixed, where="kernel", cell=label)
    ]
    rows.append(_target("empty cell: under 5 ms over a plain cell, in a kernel", checks, lambda ms: ms < FIXED_COST_TARGET * 1000, " ms"))
    traced = [r for r in select(fetch, run_as="traced", n=REPORT_N) if not r.get("missing")]
    checks = [(f"{r['model']}, {r['delay']:g} s", r["report_build"]) for r in _medians(traced, "report_build")]
    rows.append(_target(f"report built in under 0.5 s at N = {REPORT_N:,}", checks, lambda s: s < REPORT_SECONDS, " s"))
    checks = [(f"{r['model']}, {r['delay']:g} s", r["report_bytes"] / 1000) for r in _medians(traced, "report_bytes")]
    rows.append(_target(f"report under 500 KB at N = {REPORT_N:,}", checks, lambda kb: kb < REPORT_BYTES / 1000, " KB"))
    growth = [r["rss_growth"] / _MB for r in select(switches, mode="traced")]
    made = median(r["switches"] for r in select(switches, mode="traced")) if growth else 0
    checks = [(f"{made:,.0f} switches", median(growth))] if made >= 1_000_000 else []
    rows.append(_target("memory for 1,000,000 switches under 150 MB", checks, lambda mb: mb < SWITCH_MEMORY / _MB, " MB"))
    rows.append(_linear_target(fetch))
    return table(["target", "measured (medians)", "met"], rows)


def _target(label: str, checks: list[tuple[str, float]], ok: Callable[[float], bool], unit: str) -> list[str]:
    if not checks:
        return [label, "not measured in this run", "–"]
    measured = "; ".join(f"{what}: {number(value)}{unit}" for what, value in checks)
    return [label, measured, "yes" if all(ok(value) for _, value in checks) else "**no**"]


def _medians(records: list[dict], key: str) -> list[dict]:
    """One record per model and delay, holding the median of ``key``."""
    return [
        {"model": model, "delay": delay, key: median(r[key] for r in select(records, model=model, delay=delay))}
        for model, delay in _unique(records, "model", "delay")
    ]


def _linear_target(fetch: list[dict]) -> list[str]:
    """Does a request cost the magic as much at the largest N as at N = 1,000?

    Measured against the plain script's own growth: Tornado's client itself
    costs more per request at 10,000 than at 1,000, and that is not the magic's.
    """
    label = (
        f"cost linear in N: CPU per request at the largest N against N = {TARGET_N:,}, "
        f"the magic's growth within {LINEAR_SLACK}x of the plain script's"
    )
    largest = max((r["n"] for r in fetch), default=0)
    measurable = largest > TARGET_N and select(fetch, n=TARGET_N)
    checks = []
    for model, delay in _unique(fetch, "model", "delay") if measurable else []:
        plain = _growth(fetch, model, "plain", delay, largest)
        for run_as in MAGIC_OPTIONS:
            if _missing(select(fetch, model=model, run_as=run_as, delay=delay)):
                continue
            growth = _growth(fetch, model, run_as, delay, largest)
            checks.append((f"{model} {run_as}, {delay:g} s ({number(growth)}x, plain {number(plain)}x)", growth / plain))
    return _target(label, checks, lambda ratio: ratio <= LINEAR_SLACK, "x")


def _growth(fetch: list[dict], model: str, run_as: str, delay: float, largest: int) -> float:
    """Median CPU per request at ``largest`` over the same at ``TARGET_N``."""
    def per_request(n):
        return median(r["cpu"] / n for r in select(fetch, model=model, run_as=run_as, delay=delay, n=n))

    return per_request(largest) / per_request(TARGET_N)


def _unique(records: list[dict], *keys: str) -> list[tuple]:
    """The distinct values of ``keys`` in ``records``, in the order they first appear."""
    return list(dict.fromkeys(tuple(record[key] for key in keys) for record in records))


# -- the document -------------------------------------------------------------


def markdown(records: dict, plan, *, command: str, seconds: float) -> str:
    """The whole of ``RESULTS.md``; ``plan`` is the ``run.Plan`` the records were measured with."""
    fetch, fixed, switches, servers = (records[key] for key in ("fetch", "fixed", "switches", "servers"))
    measured = [record for record in fetch if not record.get("missing")]
    busiest = max(
        (
            median(r["server_cpu"] / r["wall"] for r in select(measured, model=m, n=n, delay=d, run_as=a))
            for m, n, d, a in _unique(measured, "model", "n", "delay", "run_as")
        ),
        default=0,
    )
    overflows = sum(record["overflows"] for record in measured)
    demo_cpu, fast_cpu = (median(r["server_cpu"] for r in select(servers, server=name)) for name in ("demo", "fast"))
    # CPU time is counted in 10 ms ticks: a quick run may leave the fast server at zero.
    demo_cost = f"spends {demo_cpu / fast_cpu:.1f} times its CPU on the same requests" if fast_cpu else "is slower"
    lines = [
        "# Benchmarks: what the magics cost",
        "",
        f"Written by `{command}` on {datetime.date.today():%Y-%m-%d} in {seconds / 60:.0f} minutes. "
        f"Every figure is the median of {plan.repetitions} repetition(s) (the fixed cost: of "
        f"{plan.fixed_cost_repetitions}, each the median of {plan.fixed_cost_rounds} cells), with the range "
        "[min–max] beside it; a ratio is magic against plain within one repetition. How it is measured, "
        "and why the figures are what they are: [README.md](README.md).",
        "",
        f"Machine: {machine()}. Load average (1 minute) at the start and the end of the run: "
        f"{records['load'][0]:.2f} and {records['load'][1]:.2f}; other work on the machine shows in the spreads.",
        "",
        "## The figures asked for",
        "",
        *headline(fetch, fixed),
        "",
        "## Targets",
        "",
        *targets_table(fetch, fixed, switches),
        "",
        "## Fixed cost of a cell",
        "",
        *fixed_cost_tables(fixed),
        "",
        "## Fetch workloads",
        "",
        "N concurrent requests to a loopback server that answers after `delay`; the plain script is the same "
        "code run by `python` with no IPython (`benchmarks/workloads.py`). The Tornado workload also runs as "
        "a plain cell in a kernel, no magic: what the kernel costs, apart from what the magic adds. CPU is "
        "the client process's; peak RSS growth is the high-water mark above the resident set at the start "
        "of the run.",
        "",
        *fetch_table(fetch),
        "",
        "CPU a cell adds per request (µs), against the plain script of the same repetition: "
        "constant across N if the cost is linear in N.",
        "",
        *overhead_table(fetch),
        "",
        "## The report",
        "",
        "The report of each traced and untraced fetch run above, rebuilt once more after the cell, "
        "and of a cell that only switches greenlets (below).",
        "",
        *report_table(fetch, switches),
        "",
        "## 1,000,000 greenlet switches",
        "",
        *switches_table(switches),
        "",
        "## The server is not the bottleneck",
        "",
        "Every fetch run above used `benchmarks/loopback_server.py`, a raw asyncio server; in the busiest "
        f"configuration it used {busiest:.0%} of one core (median of the server's CPU time over the client's "
        f"wall time), and {overflows:,} connections in all overflowed its listen queue. The lessons' demo "
        f"server (Tornado) {demo_cost}; here is the plain gevent script at the largest N against each:",
        "",
        *server_table(servers),
        "",
    ]
    return "\n".join(lines)
