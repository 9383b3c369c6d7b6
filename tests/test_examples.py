"""The teaching notebooks run on a real kernel, and the README's main command works from scratch."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

sys.path.insert(0, str(EXAMPLES))
from run_tour import execute  # noqa: E402

pytestmark = pytest.mark.kernel


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_without_error_and_shows_reports(path):
    notebook = execute(path)  # raises CellExecutionError on the first failing cell
    magic_cells = [cell for cell in code_cells(notebook) if cell.source.startswith(("%%gevent", "%%tornado"))]
    assert magic_cells
    for cell in magic_cells:
        # The report, alone or inside --predict's questions; --replay's storyboard comes after it.
        reports = [o for o in cell.outputs if o.output_type == "display_data" and "gtm-report" in o.data.get("text/html", "")]
        assert len(reports) == 1, cell.source
        assert "<svg" in reports[0].data["text/html"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_with_its_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    hint = f"{path.name}: run it with examples/run_tour.py --inplace"
    for cell in code_cells(notebook):
        assert cell.execution_count is not None, hint
        if cell.source.startswith(("%%gevent", "%%tornado")):
            assert cell.outputs, hint


def test_seed_tour_runs_the_essays_examples_as_written():
    source = "\n".join(cell.source for cell in code_cells(nbformat.read(EXAMPLES / "01_seed_tour.ipynb", as_version=4)))
    assert "http_client.fetch(url, print_head)\nioloop.IOLoop.instance().start()" in source
    assert "monkey.patch_all()" in source and "gevent.joinall(jobs)" in source


def readme_commands() -> list[str]:
    """The commands of the README's first code block: the main job, then the tests."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_the_two_commands():
    main, tests = readme_commands()
    assert "examples/run_tour.py" in main and "pip install" in main
    assert tests == "bash .ci/run"
    assert "pytest" in (ROOT / ".ci" / "run").read_text()


def test_main_command_works_in_a_fresh_virtual_environment(tmp_path):
    """The README's first command, as a new user runs it, in a copy of the repository."""
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "out", "*.egg-info", "__pycache__"))
    main, _ = readme_commands()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    done = subprocess.run(main, shell=True, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    html = copy / "out" / "01_seed_tour.html"
    assert str(html) in done.stdout
    assert "%%gevent: 3 requests" in html.read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_name_the_installed_kernel_so_lab_opens_them_unchanged(path):
    from jupyter_client.kernelspec import KernelSpecManager

    kernelspec = nbformat.read(path, as_version=4).metadata.kernelspec
    installed = KernelSpecManager().get_kernel_spec(kernelspec.name)
    assert kernelspec.display_name == installed.display_name
