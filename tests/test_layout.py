"""The package's layout is the picture the README draws: every module in its tree, a small root."""

from __future__ import annotations

import pathlib
import re

import geventtornado_magics

PACKAGE = pathlib.Path(geventtornado_magics.__file__).parent
README = PACKAGE.parent / "README.md"


def readme_tree() -> set[str]:
    """The modules the README's "How it works" tree lists, as paths inside the package."""
    section = README.read_text().split("## How it works", 1)[1]
    tree = section.split("```", 2)[1]
    listed, folder = set(), ""
    for line in tree.splitlines()[2:]:
        indent, name = len(line) - len(line.lstrip()), line.split()[0]
        if name.endswith("/"):
            folder = name
        elif name.endswith(".py"):
            listed.add(name if indent == 2 else folder + name)
    return listed


def test_the_readme_tree_lists_every_module_and_no_other():
    modules = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" or path.parent == PACKAGE
    }
    assert readme_tree() == modules


def test_the_package_root_holds_at_most_eight_modules():
    root = [path.name for path in PACKAGE.glob("*.py")]
    assert len(root) <= 8, root
    assert not re.search(r"tornado|gevent", " ".join(root)), "a model's modules live in its package"
