"""The report as plain text, for terminal IPython and ``repr(run)``."""

from __future__ import annotations

from ..run import Run
from .rows import Table, event_table, request_table, task_table
from .summary import count, seconds, summarize


def render_text(run: Run) -> str:
    lines = [summary_line(run)]
    lines += [f"  {line}" for line in patching_lines(run)]
    lines += [f"  note: {note}" for note in run.notes]
    if run.error is not None:
        lines.append(f"  error: {type(run.error).__name__}: {run.error}")

    if run.requests:
        lines += ["", "requests"]
        lines += _lines(request_table(run))
    if run.tasks:
        lines += ["", "greenlets" if run.model == "gevent" else "tasks"]
        lines += _lines(task_table(run))
    if run.events:
        lines += ["", "trace (switches)" if run.model == "gevent" else "trace (callbacks)"]
        lines += _lines(event_table(run))
    return "\n".join(lines)


def summary_line(run: Run) -> str:
    s = summarize(run)
    parts = [f"%%{s.model}: {seconds(s.wall)} wall, {seconds(s.cpu)} CPU"]
    if s.requests:
        parts.append(
            f"{count(s.requests)} requests ({count(s.requests - s.failed)} ok, {count(s.failed)} failed)"
        )
        parts.append(f"{seconds(s.request_time)} of requests in {seconds(s.wall)}: {s.concurrency:.1f}x concurrency")
        parts.append(f"peak {count(s.peak_in_flight)} in flight")
    if s.queued:
        parts.append(f"{seconds(s.queued)} queued for a connection")
    parts.append(f"{count(s.tasks)} {'greenlets' if s.model == 'gevent' else 'tasks'}")
    parts.append(f"{count(s.events)} {s.event_word}")
    if s.dropped:
        parts.append("dropped past the caps: " + ", ".join(f"{count(n)} {k}" for k, n in s.dropped.items()))
    return ", ".join(parts)


def patching_lines(run: Run) -> list[str]:
    patching = run.patching
    if patching is None:
        return []
    if not patching.patched and not patching.refused:
        return ["patched: nothing (blocking calls stay blocking)"]
    lines = []
    if patching.patched:
        how = " and ".join(patching.requested_by)
        lines.append(f"patched for this cell only ({how}): {', '.join(patching.patched)}")
    for module, reason in patching.refused.items():
        lines.append(f"left alone: {module}: {reason}")
    return lines


def _lines(table: Table) -> list[str]:
    shown = [table.header] + [row for row in table.rows if row is not None]
    widths = [max(len(row[i]) for row in shown) for i in range(len(table.header))]
    out = []
    for row in [table.header] + table.rows:
        if row is None:
            out.append(f"  … {count(table.hidden)} more …")
        else:
            out.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return out
