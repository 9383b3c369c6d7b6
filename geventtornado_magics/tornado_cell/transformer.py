"""Turn a ``%%tornado`` cell into an awaited call, so it runs on the kernel's own loop.

IPython turns a cell magic into a plain call,
``get_ipython().run_cell_magic('tornado', line, body)``. A plain call runs
synchronously inside the kernel's step of its event loop: the loop that the
cell's fetches, timers and callbacks need is stuck until the call returns.

A cell with a top-level ``await`` is different: the kernel awaits it, on that
loop, as a coroutine of its own. So a ``%%tornado`` cell is rewritten, before
IPython's own cell-magic transform sees it, into one::

    %%tornado --timeout 5          await get_ipython().magics_manager.registry[
    body ...                 ->        'GeventTornadoMagics'].run_tornado('--timeout 5', 'body ...\\n')

The rewritten line is what ``In[n]`` and ``%history -t`` show, as for any
cell magic. Its value is the cell's value (``Out[n]``); a body ending in ``;``
gives a line ending in ``;``, which silences it, as IPython does for any cell.

The rewrite happens only where IPython will await the cell on an asyncio loop
(``%autoawait`` on, with the asyncio runner). Otherwise the cell is left to
IPython, and the ``%%tornado`` magic runs it itself (see ``reentry``).
"""

from __future__ import annotations

from IPython.core.async_helpers import _asyncio_runner

from ..ipython_compat import semicolon_at_end

MAGIC = "tornado"
#: Where the magics object is found from the user's namespace, by IPython's own means.
_ENTRY = "get_ipython().magics_manager.registry['GeventTornadoMagics'].run_tornado"


class TornadoCellTransformer:
    """An IPython cleanup transformer: ``lines`` of a ``%%tornado`` cell in, one awaited call out."""

    def __init__(self, shell):
        self.shell = shell

    def __call__(self, lines: list[str]) -> list[str]:
        if not lines or not lines[0].startswith("%%"):
            return lines
        # Split the magic line exactly as IPython's cell_magic transform does.
        name, _, line = lines[0][2:].rstrip().partition(" ")
        if name != MAGIC or not self._awaited_on_asyncio():
            return lines  # `%%tornado?` (help), other magics, no await: IPython's way
        body = "".join(lines[1:])
        call = f"await {_ENTRY}({line!r}, {body!r})"
        return [call + (";" if semicolon_at_end(body) else "") + "\n"]

    def _awaited_on_asyncio(self) -> bool:
        return bool(self.shell.autoawait) and self.shell.loop_runner is _asyncio_runner


def install(shell) -> None:
    """Add the transformer to ``shell``, once."""
    uninstall(shell)
    shell.input_transformers_cleanup.append(TornadoCellTransformer(shell))


def uninstall(shell) -> None:
    """Remove the transformer from ``shell``."""
    transformers = shell.input_transformers_cleanup
    transformers[:] = [t for t in transformers if not _is_ours(t)]


def _is_ours(transformer) -> bool:
    # By name, not isinstance: after this module is reloaded, the class is a new object.
    kind = type(transformer)
    return kind.__module__ == __name__ and kind.__qualname__ == TornadoCellTransformer.__qualname__
