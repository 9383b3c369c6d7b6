"""Monkey patching that lasts for one ``%%gevent`` cell, and never breaks the kernel.

``gevent.monkey.patch_all()`` is written for the first lines of a program: it
swaps the standard library's blocking pieces for cooperative ones, for good.
A Jupyter kernel is a program that is already running, with threads of its
own, so inside a cell it has to be done differently:

* Only the modules that are safe to swap under a running kernel are patched:
  ``socket`` (with DNS), ``ssl``, ``select``, ``selectors`` and ``time``. The
  kernel's threads already hold their sockets, selectors and locks; new
  objects made in the cell are the cooperative ones the lesson is about.
* The rest is refused, each for a reason the report shows (``notes.REFUSED``).
* What is patched is cooperative in the cell's thread only; every other
  thread gets the originals (``time.sleep``, ``socket.socket``, ...). The
  kernel's threads call them too (its parent poller sleeps in a loop), and so
  may a user's background thread; gevent would give each such thread a hub
  of its own, never destroyed, and turn its blocking calls into switches
  to that hub.
* gevent has no "unpatch": the modules' namespaces are snapshotted before
  the cell and put back exactly afterwards, with ``gevent.monkey.saved``,
  so the next cell starts from the standard library and can patch again.

The cell's own calls (``monkey.patch_all()``, ``patch_socket()``, ...) are
routed here by replacing the ``patch_*`` functions on ``gevent.monkey`` for
the cell. ``patch_all`` itself stays gevent's: it calls the module's
``patch_*`` functions by name, so it reaches ours, even through a reference
taken before the cell.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
import warnings
from importlib import metadata

from gevent import monkey
from gevent.monkey import MonkeyPatchWarning, saved

from ..run import Patching
from ..scope import MISSING, Swapping, Swaps
from .notes import COMPARE_REASON, REFUSED

#: The cooperative ``patch_*`` functions a cell may call, and the module each patches.
SAFE = {
    "patch_socket": "socket",
    "patch_dns": "socket",
    "patch_ssl": "ssl",
    "patch_select": "select",
    "patch_selectors": "selectors",
    "patch_time": "time",
}

#: Standard-library modules whose namespaces patching may change.
_PATCHABLE_MODULES = sorted(set(SAFE.values()))


class ScopedPatching(Swapping):
    """Context manager: the cell may patch; on exit everything is as before.

    ``patch_now()`` patches every safe module at once (``%%gevent --patch``).
    With ``allowed=False`` every patch is refused (the second run of
    ``%%gevent --compare``, which shows the cell without its concurrency).
    """

    def __init__(self, allowed: bool = True):
        self.allowed = allowed
        self.report = Patching()
        self._modules = {name: importlib.import_module(name) for name in _PATCHABLE_MODULES}
        self._namespaces = {}
        self._monkey_functions = {}
        self._thread = threading.get_ident()

    def swap_in(self, swaps: Swaps) -> None:
        # gevent has no unpatch: the namespaces its patch_* functions change, and its
        # record of the originals, are put back exactly as they are now.
        self._namespaces = {name: swaps.keep(vars(module), name) for name, module in self._modules.items()}
        swaps.keep(saved, "gevent.monkey.saved")
        for module_name, originals in saved.items():
            swaps.keep(originals, f"gevent.monkey.saved[{module_name!r}]")
        for name in SAFE:
            replacement = self._cooperative(name) if self.allowed else self._refusal(name)
            self._monkey_functions[name] = swaps.swap(monkey, name, replacement)
        for name in REFUSED:
            self._monkey_functions[name] = swaps.swap(monkey, name, self._refusal(name))
        self._monkey_functions["patch_all"] = swaps.swap(monkey, "patch_all", self._patch_all)

    def patch_now(self) -> None:
        """Patch every safe module now, as ``patch_all()`` would in a script."""
        self.report.requested_by.append("--patch")
        with _patching_call():
            self._monkey_functions["patch_all"]()

    def _patch_all(self, *args, **kwargs):
        self.report.requested_by.append("patch_all()")
        with _patching_call():
            return self._monkey_functions["patch_all"](*args, **kwargs)

    def _cooperative(self, name):
        original = getattr(monkey, name)
        module = SAFE[name]

        def patch(*args, **kwargs):
            if name == "patch_ssl":
                # Only decides whether to warn that ssl was imported first, which a kernel always
                # did: skip it, and the scan of every object in the kernel it takes (gc.get_referrers).
                kwargs["_first_time"] = False
            if not self.report.requested_by:
                self.report.requested_by.append(f"{name}()")
            with _patching_call():
                result = original(*args, **kwargs)
            self._confine_to_cell_thread()
            if module not in self.report.patched:
                self.report.patched.append(module)
            return result

        patch.__name__ = patch.__qualname__ = name
        patch.__doc__ = original.__doc__
        return patch

    def _confine_to_cell_thread(self) -> None:
        """Make each newly patched function cooperative in the cell's thread only."""
        for name, module in self._modules.items():
            before = self._namespaces[name]
            namespace = vars(module)
            for attr, value in list(namespace.items()):
                original = before.get(attr, MISSING)
                if (
                    original is MISSING
                    or value is original
                    or not callable(value)
                    or "_gtm_original" in getattr(value, "__dict__", {})
                ):
                    continue
                if isinstance(value, type):
                    namespace[attr] = _class_in_thread_only(self._thread, value, original)
                else:
                    namespace[attr] = _in_thread_only(self._thread, value, original)

    def _refusal(self, name):
        module, reason = REFUSED[name] if name in REFUSED else (SAFE[name], COMPARE_REASON)

        def refuse(*args, **kwargs):
            self.report.refused[module] = reason

        refuse.__name__ = refuse.__qualname__ = name
        refuse.__doc__ = f"Left alone by %%gevent: {reason}."
        return refuse


def _in_thread_only(thread: int, cooperative, original):
    """``cooperative`` when called from ``thread``, ``original`` from any other."""

    @functools.wraps(cooperative)
    def dispatch(*args, **kwargs):
        if threading.get_ident() == thread:
            return cooperative(*args, **kwargs)
        return original(*args, **kwargs)

    dispatch._gtm_original = original
    return dispatch


def _class_in_thread_only(thread: int, cooperative: type, original):
    """A subclass of ``cooperative`` whose instances, made in another thread, are ``original``'s.

    ``__new__`` returning an object that is not an instance of the class skips
    ``__init__``, so ``original(*args)`` builds the other thread's object whole.
    """
    base_new = cooperative.__new__

    def __new__(cls, *args, **kwargs):
        if threading.get_ident() != thread:
            return original(*args, **kwargs)
        if base_new is object.__new__:
            return object.__new__(cls)
        return base_new(cls, *args, **kwargs)

    namespace = {
        "__new__": __new__,
        "__module__": cooperative.__module__,
        "__qualname__": cooperative.__qualname__,
        "__doc__": cooperative.__doc__,
        "_gtm_original": original,
    }
    return type(cooperative.__name__, (cooperative,), namespace)


@contextlib.contextmanager
def _patching_call():
    """Around each of gevent's patch functions, two things a kernel needs that a script does not.

    gevent warns when ssl was imported before patching. In a kernel it always
    was (at start-up); the SSL objects the cell makes are still cooperative.

    gevent looks up its plugins' entry points at each of the dozen events of a
    ``patch_all()``, scanning every installed package each time (1.5 ms a
    look-up). A script pays that once; a kernel would pay it in every cell.
    The installed packages do not change during the call: one scan, then a
    selection from it per look-up.
    """
    everything = []

    def entry_points(**selection):
        if not everything:
            everything.append(original())
        return everything[0].select(**selection) if selection else everything[0]

    with Swaps() as swaps, warnings.catch_warnings():
        original = swaps.swap(metadata, "entry_points", entry_points)
        warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl", category=MonkeyPatchWarning)
        yield
