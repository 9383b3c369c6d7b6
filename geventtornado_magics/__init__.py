"""IPython magics that run a cell under gevent or Tornado and show what happened.

::

    %load_ext geventtornado_magics

    %%gevent
    ...   # greenlets, monkey.patch_all() for this cell only

    %%tornado
    ...   # IOLoop, callbacks, coroutines, top-level await, on the kernel's loop

Each cell ends with a report: a timing table (one row per HTTP request), a
timeline, and the trace (greenlet switches, or the callbacks the loop ran).
``last_run()`` returns the record behind the most recent report.
"""

from .tornado_cell import transformer
from .magics import GeventTornadoMagics, last_run
from .run import Run

__version__ = "0.1.0"
__all__ = ["GeventTornadoMagics", "Run", "last_run", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext geventtornado_magics``: register the magics.

    ``%%tornado`` cells are also rewritten into awaited calls before IPython
    runs them, so that they run on the kernel's own loop (``tornado_cell.transformer``).
    """
    ipython.register_magics(GeventTornadoMagics)
    transformer.install(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext geventtornado_magics``: remove the magics again."""
    transformer.uninstall(ipython)
    manager = ipython.magics_manager
    for kind, names in GeventTornadoMagics.magics.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(GeventTornadoMagics.__name__, None)
