"""The version matrix (ci/matrix.py) agrees with pyproject.toml and with the README's table."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ci"))
import matrix  # noqa: E402


def test_lower_bounds_are_the_oldest_releases_the_matrix_tests():
    assert matrix.lower_bounds_problems() == []


def test_readme_table_lists_every_environment_with_its_pinned_releases():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and " passed" in line]
    table = {cells[0]: cells[1:] for cells in (re.split(r"\s*\|\s*", row.strip("| ")) for row in rows)}
    for env in matrix.ENVIRONMENTS:
        pinned = dict(pin.split("==") for pin in env.pins)
        assert table[env.what][0] == env.python, env.name
        assert table[env.what][1 : 1 + len(matrix.SUBJECTS)] == [pinned[name] for name in matrix.SUBJECTS], env.name
