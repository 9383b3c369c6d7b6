"""The tree of greenlets (gevent) or of tasks (Tornado), as indented lines.

Every greenlet has a parent: the greenlet control returns to when it
finishes. In a ``%%gevent`` cell the tree is rooted at the oldest greenlet,
the cell's own (the thread's main greenlet); the hub is its child, and every
spawned greenlet is a child of the hub, whoever spawned it. So each line also
says who spawned it, which is a different question::

    cell  main greenlet: the cell's own code
    └─ hub  gevent's hub: runs the loop; parent of the greenlets below
       ├─ fetch('http://…/delay/0.2')  done · spawned by cell at 37 ms · ran 37 ms → 248 ms · returned 14
       └─ fetch('http://…/delay/0.4')  done · …

Tornado tasks have no parent of that kind: the loop runs them all. Their tree
is who started whom, rooted at the cell's coroutine.

Past ``children`` children of one node, or ``lines`` lines in all, the rest
are counted, not listed; ``run.tasks`` keeps every one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..run import Run, Task
from .summary import lane_word, origin_of
from .units import count, relative, seconds

#: Children listed under one node before the rest are counted.
CHILDREN = 24
#: Lines of the tree at most.
LINES = 80

CELL = "cell"
HUB = "hub"


@dataclass
class TreeLine:
    #: Box-drawing indentation, e.g. ``"   ├─ "``.
    prefix: str
    name: str
    note: str


def task_tree(run: Run, children: int = CHILDREN, lines: int = LINES) -> list[TreeLine]:
    gevent = run.model == "gevent"
    default_parent = HUB if gevent else CELL
    first_index: dict[str, int] = {}
    kids: dict[object, list[object]] = {CELL: [HUB] if gevent else []}
    for index, task in enumerate(run.tasks):
        first_index.setdefault(task.name, index)
        parent = (task.parent if gevent else task.spawned_by) or default_parent
        # A parent must be a node listed before its child: that keeps the tree a tree.
        node = first_index.get(parent) if parent not in (CELL, HUB) else parent
        if node is None or node == index:
            node = default_parent
        kids.setdefault(node, []).append(index)

    origin = origin_of(run)
    out: list[TreeLine] = []
    shown = counted = 0
    # Depth-first with an explicit stack: a chain of 10,000 greenlets each
    # spawning the next must not hit Python's recursion limit.
    stack: list[tuple[object, str, str]] = [(CELL, "", "")]
    while stack and len(out) < lines - 1:  # the last line may say what was left out
        node, indent, connector = stack.pop()
        if isinstance(node, tuple):  # ("more", n): the children past the limit
            out.append(TreeLine(indent + connector, f"… {count(node[1])} more", ""))
            counted += node[1]
            continue
        out.append(TreeLine(indent + connector, *_describe(run, node, gevent, origin)))
        shown += isinstance(node, int)
        below = indent + ("" if not connector else "   " if connector.startswith("└") else "│  ")
        entries: list[object] = list(kids.get(node, [])[:children])
        extra = len(kids.get(node, [])) - len(entries)
        if extra:
            entries.append(("more", extra))
        for position, child in reversed(list(enumerate(entries))):
            stack.append((child, below, "└─ " if position == len(entries) - 1 else "├─ "))
    left = len(run.tasks) - shown - counted
    if left > 0:
        out.append(TreeLine("", f"… {count(left)} more {lane_word(run.model, left)} not listed", ""))
    return out


def _describe(run: Run, node: object, gevent: bool, origin: str) -> tuple[str, str]:
    if node == CELL:
        return CELL, "main greenlet: the cell's own code" if gevent else "the cell's own coroutine"
    if node == HUB:
        return HUB, "gevent's hub: runs the loop; parent of the greenlets below"
    task = run.tasks[node]
    return relative(task.name, origin), relative(task_note(task), origin)


def task_note(task: Task) -> str:
    """``done · spawned by cell at 37 ms · ran 37 ms → 248 ms · returned 14``."""
    parts = [task.state, f"spawned by {task.spawned_by or CELL} at {seconds(task.spawned)}"]
    if task.start is not None:
        parts.append(f"ran {seconds(task.start)} → {seconds(task.end)}")
    if task.error:
        parts.append(task.error)
    elif task.result is not None:
        parts.append(f"returned {task.result}")
    return " · ".join(parts)
