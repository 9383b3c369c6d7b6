"""The benchmark's quick mode runs end to end and writes a complete table.

The figures are not checked (a quick run on a busy CI machine proves nothing
about them); that every section and row is there, well formed, is: it is how
the benchmark is kept from rotting between full runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parent.parent


def tables(markdown: str) -> dict[str, list[list[list[str]]]]:
    """``{section title: [table, ...]}``, each table a list of rows of cells, header first."""
    sections: dict[str, list] = {}
    current = None
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:], [])
        if line.startswith("|") and current is not None:
            if not in_table:
                current.append([])
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if set(line) - set("|-"):
                current[-1].append(cells)
        in_table = line.startswith("|")
    return sections


def first_column(table: list[list[str]]) -> list[str]:
    return [row[0] for row in table[1:]]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmarks") / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == out.read_text().strip()
    return out.read_text()


def test_every_table_is_well_formed(quick):
    sections = tables(quick)
    assert list(sections) == [
        "The figures asked for",
        "Targets",
        "Fixed cost of a cell",
        "Fetch workloads",
        "The report",
        "1,000,000 greenlet switches",
        "The server is not the bottleneck",
    ]
    for title, found in sections.items():
        assert found, f"no table under {title!r}"
        for table in found:
            assert len(table) > 1, f"a table under {title!r} has no rows"
            assert {len(row) for row in table} == {len(table[0])}, f"ragged table under {title!r}"
    assert "Machine: " in quick and " cores, " in quick


def test_every_row_is_there(quick):
    sections = tables(quick)
    (targets,) = sections["Targets"]
    # CPU traced and untraced at N = 1,000 and 10,000, traced memory, empty cell, report time and size,
    # 1,000,000 switches, linear cost.
    assert len(targets) == 1 + 10
    assert [row[0].split(" at N")[0] for row in targets[1:6]] == [
        "traced: CPU within 1.25x of the plain script", "traced: CPU within 1.25x of the plain script",
        "tracing off: CPU within 1.05x of the plain script", "tracing off: CPU within 1.05x of the plain script",
        "traced: peak memory within 1.25x of the plain script",
    ]
    absolute, extra = sections["Fixed cost of a cell"]
    assert first_column(absolute)[:3] == ["`pass`", "`%%gevent`", "`%%gevent --patch`"]
    assert first_column(extra)[:2] == ["`%%gevent`", "`%%gevent --patch`"]

    fetch, overhead = sections["Fetch workloads"]
    runs = {(row[0], row[1], row[2], row[3]) for row in fetch[1:]}
    ways = {
        "gevent": ["plain gevent script", "`%%gevent`", "`%%gevent` `--no-trace`"],
        "tornado": ["plain Tornado script", "plain cell (top-level `await`)", "`%%tornado`", "`%%tornado` `--no-trace`"],
    }
    for model, names in ways.items():
        for delay in ("0 s", "0.5 s"):
            for run_as in names:
                assert (model, "20", delay, run_as) in runs
    plain_rows = [row for row in fetch[1:] if row[3].startswith("plain")]
    assert len(plain_rows) == 6 and all("–" not in row for row in plain_rows)
    assert len(overhead) == 1 + 2 * (2 + 3)

    (switches,) = sections["1,000,000 greenlet switches"]
    assert first_column(switches) == ["plain cell (no magic)", "`%%gevent`", "`%%gevent` `--no-trace`"]
    (servers,) = sections["The server is not the bottleneck"]
    assert first_column(servers) == ["fast", "demo"]
