"""The report as one self-contained HTML fragment.

No script, no network, no external stylesheet: the fragment carries its own
``<style>``, scoped under ``.gtm-report``, coloured with JupyterLab's
``--jp-*`` variables (so light and dark themes both read) and plain fallbacks
for nbconvert, VS Code and nbviewer. Every string that came from the cell,
the network or an exception goes through ``html.escape``.
"""

from __future__ import annotations

from html import escape

from ..run import Run
from .rows import Table, event_table, request_table, task_table
from .summary import count
from .text import patching_lines, summary_line
from .timeline import render_timeline

_STYLE = """
<style>
.gtm-report{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:12px;
  color:var(--jp-ui-font-color1,#222);max-width:1100px}
.gtm-report .gtm-summary{font-weight:600;margin:2px 0 4px}
.gtm-report .gtm-meta{color:var(--jp-ui-font-color2,#555);margin:1px 0}
.gtm-report .gtm-error{color:var(--jp-error-color1,#c62828);margin:2px 0}
.gtm-report details{margin:6px 0}
.gtm-report summary{cursor:pointer;font-weight:600}
.gtm-report table{border-collapse:collapse;margin:4px 0;font-family:var(--jp-code-font-family,monospace);font-size:11px}
.gtm-report th,.gtm-report td{padding:1px 8px;text-align:left;white-space:nowrap;
  border-bottom:1px solid var(--jp-border-color2,#e0e0e0);max-width:420px;overflow:hidden;text-overflow:ellipsis}
.gtm-report th{color:var(--jp-ui-font-color2,#555)}
.gtm-report td.gtm-gap{text-align:center;color:var(--jp-ui-font-color2,#777)}
.gtm-report tr.gtm-bad td{color:var(--jp-error-color1,#c62828)}
.gtm-timeline{display:block;margin:6px 0}
.gtm-timeline .gtm-label,.gtm-timeline .gtm-axis{font:11px var(--jp-code-font-family,monospace);fill:var(--jp-ui-font-color1,#222)}
.gtm-timeline .gtm-axis{fill:var(--jp-ui-font-color2,#666)}
.gtm-timeline .gtm-band{fill:var(--jp-layout-color2,#f3f3f3);opacity:.6}
.gtm-timeline .gtm-tick{stroke:var(--jp-border-color2,#ddd);stroke-width:1}
.gtm-timeline .gtm-bar{fill:#64b5f6;opacity:.75}
.gtm-timeline .gtm-queued{fill:#ffb74d;opacity:.75}
.gtm-timeline .gtm-failed{fill:#e57373}
.gtm-timeline .gtm-run{fill:var(--jp-ui-font-color1,#1a237e)}
</style>
"""


def render_html(run: Run) -> str:
    parts = ['<div class="gtm-report">', _STYLE]
    parts.append(f'<div class="gtm-summary">{escape(summary_line(run))}</div>')
    parts += [f'<div class="gtm-meta">{escape(line)}</div>' for line in patching_lines(run)]
    parts += [f'<div class="gtm-meta">{escape(note)}</div>' for note in run.notes]
    if run.error is not None:
        parts.append(
            f'<div class="gtm-error">{escape(type(run.error).__name__)}: {escape(str(run.error))}</div>'
        )
    parts.append(render_timeline(run))
    if run.requests:
        parts.append(_section(f"Requests ({count(len(run.requests))})", request_table(run), open_=True))
    if run.tasks:
        word = "Greenlets" if run.model == "gevent" else "Tasks"
        parts.append(_section(f"{word} ({count(len(run.tasks))})", task_table(run)))
    if run.events:
        word = "Switches" if run.model == "gevent" else "Callbacks"
        parts.append(_section(f"Trace: {word.lower()} ({count(len(run.events))})", event_table(run)))
    parts.append("</div>")
    return "".join(parts)


def _section(title: str, table: Table, open_: bool = False) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table.header)
    body = []
    for row in table.rows:
        if row is None:
            body.append(
                f'<tr><td class="gtm-gap" colspan="{len(table.header)}">… {count(table.hidden)} more …</td></tr>'
            )
        else:
            bad = ' class="gtm-bad"' if row[-1] and table.header[-1] == "error" else ""
            cells = "".join(f'<td title="{escape(cell)}">{escape(cell)}</td>' for cell in row)
            body.append(f"<tr{bad}>{cells}</tr>")
    return (
        f"<details{' open' if open_ else ''}><summary>{escape(title)}</summary>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></details>"
    )
