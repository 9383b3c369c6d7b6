"""What a cell's recorders share: ``CellScope``, and ``Swaps``, the one way to change library code for a cell.

``CellScope`` is one cell's frame of reference: when it started and its clock
(seconds from the start, as every recorded time is), the one lookup from
where code stands to the cell's line, and the caps on what is recorded.

The product's first promise is that the kernel is exactly as it was after a
cell. Whatever a cell's machinery replaces for the cell (a wrapped method, the
cell's own ``patch_*`` functions, the loop's task factory, the SIGINT handler)
is replaced through a ``Swaps`` stack, and closing the stack puts it back, in
reverse order, on every exit path:

``swap(owner, name, value)``
    an attribute of a class, module or object (``owner.__dict__`` only, so a
    class attribute is restored as the exact object it was, staticmethod and
    all, and an instance attribute that was absent is deleted again);
``wrap(owner, name, make_wrapper)``
    the same for a function, replaced by a wrapper that ``make_wrapper``
    builds around it (the recorders' way of watching a library call);
``swap_setting(label, get, set, value)``
    a value behind a getter and setter (a task factory, a signal handler, a
    trace function);
``keep(namespace, label)``
    a namespace that a library changes itself (gevent's ``patch_*`` functions
    on ``socket``, ``time``, ...), put back exactly as it was.

Each of them keeps its own record: for every place it ever changed, what the
place held before (the kernel's own value), so ``unrestored()`` lists what is
not back, and the tests ask it after cells that succeed, fail, time out and
are interrupted, instead of keeping a list of their own.
"""

from __future__ import annotations

import contextlib
import types
import weakref
from collections import Counter
from dataclasses import dataclass
from time import perf_counter
from types import CodeType, FrameType
from typing import Callable, NamedTuple


@dataclass(frozen=True)
class Limits:
    """Caps on what the recorders keep, so a cell of any size has a bounded report.

    Past a cap, a recorder counts what it drops and the report says so.
    """

    events: int = 200_000
    requests: int = 100_000
    tasks: int = 100_000


def dropped_past_caps(events: int, requests: int, tasks: int) -> dict[str, int]:
    """What the recorders dropped past their caps, for ``Run.dropped``: the kinds that dropped any."""
    counts = {"events": events, "requests": requests, "tasks": tasks}
    return {kind: count for kind, count in counts.items() if count}


#: Seconds a greenlet or a loop callback may run while other work waits before the report flags it.
BLOCKING_THRESHOLD = 0.05


@dataclass(frozen=True)
class CellOptions:
    """What a magic's options ask of a runner, whichever the model (see ``magics``)."""

    #: Stop the cell after this many seconds (None: never).
    timeout: float | None = None
    #: Record the switches or callbacks, not only requests and tasks.
    trace: bool = True
    limits: Limits = Limits()
    #: Flag what held the loop this long (None or 0: never; needs ``trace``).
    blocking_threshold: float | None = BLOCKING_THRESHOLD


class CellScope:
    """One cell's start, clock, lines and caps, handed to each of its recorders.

    ``filename`` is the name the cell's code was compiled under (None: no cell,
    as for ``%compare_models``' workloads), ``line_offset`` the blank lines
    IPython dropped from its top.
    """

    __slots__ = ("t0", "filename", "line_offset", "limits")

    def __init__(self, filename: str | None = None, line_offset: int = 0, limits: Limits = Limits()):
        self.filename = filename
        self.line_offset = line_offset
        self.limits = limits
        #: The cell's start on the ``perf_counter`` clock.
        self.t0 = perf_counter()

    def now(self) -> float:
        """Seconds since the cell started."""
        return perf_counter() - self.t0

    def line_of(self, where) -> int | None:
        """The cell line (1-based) where ``where`` stands, or None where it is not in the cell.

        ``where`` is a frame (the cell's first frame up its stack: a call the
        cell made stands on the cell's line that made it), a function's code
        (the line it starts at), or a suspended coroutine or generator (the
        innermost cell line along the chain of what it awaits).
        """
        filename = self.filename
        if type(where) is FrameType:  # first: the switch tracer asks on every switch
            frame = where
            while frame is not None:
                if frame.f_code.co_filename == filename:
                    return frame.f_lineno + self.line_offset
                frame = frame.f_back
            return None
        if isinstance(where, CodeType):
            return where.co_firstlineno + self.line_offset if where.co_filename == filename else None
        line = None
        while where is not None:
            frame = getattr(where, "cr_frame", None) or getattr(where, "gi_frame", None)
            if frame is None:
                break
            line = self.line_of(frame) or line
            where = getattr(where, "cr_await", None) or getattr(where, "gi_yieldfrom", None)
        return line


#: An attribute or key that was absent: restoring it deletes it.
MISSING = object()


class Swapped(NamedTuple):
    """A place a swap changed, and what it held before."""

    label: str
    read: Callable[[], object]
    original: object
    #: False for a setting the kernel itself changes between cells (ipykernel sets a SIGINT
    #: handler of its own for each await cell): it is checked while swapped, not after.
    lasting: bool = True


#: Every place changed since the package was imported, by key: what it held before the last change.
_record: dict[tuple, Swapped] = {}
#: How many swaps of each place are in place now (swaps of one place nest).
_live: Counter = Counter()


def unrestored() -> list[str]:
    """What a swap changed and is not back as it was: the labels, with what holds there now."""
    problems = [f"{label} is still swapped" for label in live()]
    problems += [
        f"{entry.label} is {entry.read()!r}, not {entry.original!r}"
        for key, entry in _record.items()
        if entry.lasting and not _live[key] and entry.read() is not entry.original
    ]
    return problems


def live() -> list[str]:
    """The labels of the places swapped now (inside a cell: everything the cell's machinery changed)."""
    return [_record[key].label for key, count in _live.items() if count]


class Swaps(contextlib.ExitStack):
    """An ExitStack whose swaps are undone when it closes, most recent first."""

    def swap(self, owner, name: str, value):
        """Set ``owner.name`` to ``value`` until the stack closes; return what it was (or ``MISSING``)."""
        label = f"{_name_of(owner)}.{name}"
        # The record keeps a class or module; an object (a loop, a client) only
        # while it lives: one that is gone holds nothing of the cell's.
        held = (lambda: owner) if isinstance(owner, (type, types.ModuleType)) else weakref.ref(owner)
        original = vars(owner).get(name, MISSING)

        def read():
            alive = held()
            return original if alive is None else vars(alive).get(name, MISSING)

        def write(new):
            if new is MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, new)

        return self._swap((id(owner), name), label, read, write, value)

    def wrap(self, owner, name: str, make_wrapper: Callable[[Callable], Callable]) -> Callable:
        """Swap the function ``owner.name`` for ``make_wrapper(function)``; return the wrapper.

        The wrapper takes the function's name, and ``__wrapped__`` leads to the
        function (``inspect.signature`` and tracebacks show the real one); a
        staticmethod stays one.
        """
        original = vars(owner)[name]
        wrapper = make_wrapper(original)
        wrapper.__name__ = wrapper.__qualname__ = name
        wrapper.__wrapped__ = original
        self.swap(owner, name, staticmethod(wrapper) if isinstance(original, staticmethod) else wrapper)
        return wrapper

    def swap_setting(
        self, label: str, get: Callable[[], object], set: Callable[[object], object], value, lasting: bool = True
    ):
        """``set(value)`` until the stack closes, then ``set`` back what ``get()`` gave; return that.

        ``lasting=False``: the kernel changes this setting itself between cells (see ``Swapped``).
        """
        return self._swap((label,), label, get, set, value, lasting)

    def keep(self, namespace: dict, label: str) -> dict:
        """Put ``namespace`` back exactly as it is now when the stack closes; return a copy of it now."""
        before = dict(namespace)

        def put_back():
            for name in [name for name in namespace if name not in before]:
                _note((id(namespace), name), f"{label}.{name}", namespace, name, MISSING)
                del namespace[name]
            for name, value in before.items():
                if namespace.get(name, MISSING) is not value:
                    _note((id(namespace), name), f"{label}.{name}", namespace, name, value)
                    namespace[name] = value

        self.callback(put_back)
        return dict(before)

    def _swap(self, key: tuple, label: str, read, write, value, lasting: bool = True):
        original = read()
        if not _live[key]:
            _record[key] = Swapped(label, read, original, lasting)
        _live[key] += 1
        try:
            write(value)
        except BaseException:
            _live[key] -= 1
            raise

        def restore():
            _live[key] -= 1
            write(original)

        self.callback(restore)
        return original


def _note(key: tuple, label: str, namespace: dict, name: str, original) -> None:
    _record[key] = Swapped(label, lambda: namespace.get(name, MISSING), original)


def _name_of(owner) -> str:
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}"
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    return f"{type(owner).__qualname__} object at {id(owner):#x}"


class Swapping:
    """Base of a context manager that swaps library code for a cell, through ``Swaps``.

    A subclass says what it swaps in ``swap_in(swaps)``; entering calls it,
    leaving puts all of it back (an ``__exit__`` of its own calls this one).
    """

    _swaps: Swaps

    def __enter__(self):
        self._swaps = Swaps()
        try:
            self.swap_in(self._swaps)
        except BaseException:
            self._swaps.close()  # what was swapped before the failure
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._swaps.close()

    def swap_in(self, swaps: Swaps) -> None:
        raise NotImplementedError
