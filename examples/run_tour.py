"""Run a teaching notebook headless, against the built-in demo server, and write it as HTML.

    python examples/run_tour.py                        # examples/01_seed_tour.ipynb -> out/01_seed_tour.html
    python examples/run_tour.py examples/02_gevent_lessons.ipynb --inplace

The notebook runs in a fresh ipykernel, exactly as in Jupyter; its cells start
the demo server themselves (``%demo_server``), so nothing else is needed.
``--inplace`` also saves the executed notebook over the original, which is how
the notebooks in ``examples/`` are committed with their outputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

EXAMPLES = Path(__file__).resolve().parent
TOUR = EXAMPLES / "01_seed_tour.ipynb"


def execute(path: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` in a new kernel; raise on the first failing cell."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # A replay player's state left in the notebook would make nbconvert load the widget
        # manager from a CDN; without it, the saved notebook shows the static storyboard.
        store_widget_state=False,
    ).execute()
    return notebook


def to_html(notebook: nbformat.NotebookNode) -> str:
    """A self-contained HTML page of the executed notebook."""
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    return html


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", nargs="?", type=Path, default=TOUR)
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the HTML (default: out/)")
    parser.add_argument("--inplace", action="store_true", help="also save the executed notebook over the original")
    args = parser.parse_args(argv)

    notebook = execute(args.notebook)
    if args.inplace:
        nbformat.write(notebook, args.notebook)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"{args.notebook.stem}.html"
    target.write_text(to_html(notebook), encoding="utf-8")
    print(f"executed {args.notebook} -> {target.resolve()}")
    return target


if __name__ == "__main__":
    main()
