"""The report's stylesheet: JupyterLab's theme where there is one, plain colours elsewhere.

Everything is scoped under ``.gtm-report``. Colours come from JupyterLab's
``--jp-*`` variables (so the light and dark themes both read), each with a
fallback that works on a light or a dark page alike (a translucent grey, or
the inherited text colour): VS Code, nbconvert's classic template and
nbviewer define no ``--jp-*`` variables.

The report must also read where this stylesheet is stripped (GitHub's
renderer; JupyterLab's sanitizer for an untrusted notebook). So the sheet
only *refines*: the SVG carries its colours as attributes, and tables fall
back to the host's own table style. One rule does more than refine: it
reveals the live timeline and hides its image fallback (see ``html.py``).
"""

STYLE = """<style>
.gtm-report{
  --gtm-fg2:var(--jp-ui-font-color2,currentColor);
  --gtm-border:var(--jp-border-color2,rgba(128,128,128,.3));
  --gtm-band:var(--jp-layout-color2,rgba(128,128,128,.14));
  --gtm-run:var(--jp-ui-font-color1,currentColor);
  --gtm-wait:var(--jp-brand-color1,#3d8fd9);
  --gtm-failed:var(--jp-error-color1,#e5484d);
  --gtm-queued:var(--jp-warn-color1,#f0a020);
  --gtm-mono:var(--jp-code-font-family,var(--vscode-editor-font-family,ui-monospace,SFMono-Regular,Menlo,Consolas,monospace));
  font-family:var(--jp-ui-font-family,var(--vscode-font-family,system-ui,-apple-system,"Segoe UI",sans-serif));
  font-size:14px;line-height:1.4;margin:2px 0}
.gtm-report .gtm-facts,.gtm-report .gtm-meta{color:var(--gtm-fg2);margin:2px 0}
.gtm-report .gtm-error{display:inline-block}
.gtm-report .gtm-blocking{margin:3px 0}
.gtm-report .gtm-blocking>summary{font-weight:normal}
.gtm-report .gtm-hint{margin:2px 0 4px 22px}
.gtm-report .gtm-picture{margin:6px 0 4px}
.gtm-report .gtm-live{height:auto!important;overflow-x:auto!important;overflow-y:hidden!important}
.gtm-report .gtm-fallback{display:none!important}
.gtm-report .gtm-note{color:var(--gtm-fg2);font-style:italic;margin:2px 0}
.gtm-report details{margin:6px 0}
.gtm-report details>summary{cursor:pointer;font-weight:600;margin:2px 0}
.gtm-report details.gtm-meta>summary{font-weight:normal}
.gtm-report details.gtm-meta ul{margin:2px 0;padding-left:22px}
.gtm-report table.gtm-table{border-collapse:collapse;margin:4px 0;font-family:var(--gtm-mono);font-size:13px}
.gtm-report table.gtm-table th,.gtm-report table.gtm-table td{padding:1px 4px 1px 12px;white-space:nowrap;
  border:none;border-bottom:1px solid var(--gtm-border);vertical-align:top}
.gtm-report table.gtm-table th:first-child,.gtm-report table.gtm-table td:first-child{padding-left:0}
.gtm-report table.gtm-table th{color:var(--gtm-fg2);font-weight:600}
.gtm-report table.gtm-table td.gtm-num,.gtm-report table.gtm-table th.gtm-num{text-align:right}
.gtm-report table.gtm-table td.gtm-caption{color:var(--gtm-fg2);font-style:italic;padding-top:4px}
.gtm-report table.gtm-table tr:not(.gtm-failed):hover td{background:var(--gtm-band)}
.gtm-report .gtm-columns{display:flex;flex-wrap:wrap;gap:4px 28px;align-items:flex-start}
.gtm-report .gtm-tree{font-family:var(--gtm-mono);font-size:13px;margin:4px 0;white-space:pre;overflow-x:auto;
  background:none;padding:0}
.gtm-report .gtm-dim{color:var(--gtm-fg2)}
.gtm-report tr.gtm-hit td{font-weight:600}
.gtm-report .gtm-timeline .gtm-label{fill:var(--gtm-run)}
.gtm-report .gtm-timeline .gtm-axis{fill:var(--gtm-fg2)}
.gtm-report .gtm-timeline .gtm-grid{stroke:var(--gtm-border);stroke-opacity:1}
.gtm-report .gtm-timeline .gtm-band{fill:var(--gtm-band);fill-opacity:.5}
.gtm-report .gtm-timeline .gtm-run{fill:var(--gtm-run)}
.gtm-report .gtm-timeline .gtm-hub{fill:var(--gtm-run);fill-opacity:.3}
.gtm-report .gtm-timeline .gtm-request{fill:var(--gtm-wait)}
.gtm-report .gtm-timeline .gtm-failed,.gtm-report .gtm-timeline .gtm-blocked{fill:var(--gtm-failed)}
.gtm-report .gtm-timeline .gtm-queued{fill:var(--gtm-queued)}
.gtm-report .gtm-timeline text{font-family:var(--gtm-mono)}
</style>"""
