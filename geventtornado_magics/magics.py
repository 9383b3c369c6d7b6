"""The ``%%gevent`` and ``%%tornado`` cell magics: parse options, run, display.

Thin on purpose: the runners do the work and return a Run, the renderers
draw it. Settings are traitlets, so ``%config GeventTornadoMagics`` lists them
and ``%config GeventTornadoMagics.max_events = 10_000`` changes one.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, output_can_be_silenced
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Float, Integer

from .recorders.blocking import THRESHOLD
from .run import Run
from .settings import Limits

_last_run: Run | None = None


def last_run() -> Run | None:
    """The Run of the most recent ``%%gevent`` or ``%%tornado`` cell, or None."""
    return _last_run


@magics_class
class GeventTornadoMagics(Magics):
    """Run a cell under gevent or Tornado and show what happened."""

    max_events = Integer(
        Limits.events, help="Switches or callbacks recorded per cell; past it they are counted."
    ).tag(config=True)
    max_requests = Integer(
        Limits.requests, help="HTTP requests recorded per cell; past it they are counted."
    ).tag(config=True)
    max_tasks = Integer(
        Limits.tasks, help="Greenlets or tasks recorded per cell; past it they are counted."
    ).tag(config=True)
    blocking_threshold = Float(
        THRESHOLD,
        help="Seconds a greenlet may run without yielding, or a loop callback may run, while other "
        "work waits, before the report flags it as blocking the loop (0: never flag).",
    ).tag(config=True)

    @magic_arguments()
    @argument(
        "--patch",
        action="store_true",
        help="Monkey-patch the safe modules (socket, ssl, select, selectors, time) before "
        "the cell runs, for cells that don't call monkey.patch_all() themselves.",
    )
    @argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="Stop the cell after SECONDS: kill its greenlets and show the partial report.",
    )
    @argument(
        "--no-trace",
        dest="trace",
        action="store_false",
        help="Record request timings only, not greenlet switches (for large runs).",
    )
    @output_can_be_silenced
    @cell_magic
    def gevent(self, line, cell):
        """Run the cell under gevent, in this kernel, and report what happened.

        Greenlets run on gevent's hub in the kernel's main thread. Monkey
        patching done in the cell (``monkey.patch_all()``) lasts for the cell
        only, and never touches threading or queue, which the kernel needs.
        After the cell: a timing table (one row per HTTP request), a timeline
        and the greenlet switches. ``geventtornado_magics.last_run()`` returns
        the record.
        """
        args = self._parse(self.gevent, line)
        from .gevent_runner import run_gevent_cell

        run = run_gevent_cell(
            self.shell, cell, patch=args.patch, timeout=args.timeout, trace=args.trace, limits=self._limits()
        )
        return self._show(run, line)

    @magic_arguments()
    @argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="Stop the cell after SECONDS: cancel its tasks and fetches and show the partial report.",
    )
    @argument(
        "--no-trace",
        dest="trace",
        action="store_false",
        help="Record request timings and tasks only, not loop callbacks (for large runs).",
    )
    @output_can_be_silenced
    @cell_magic
    def tornado(self, line, cell):
        """Run the cell on this kernel's own event loop, Tornado style, and report what happened.

        Tornado 6 runs on asyncio, and the kernel's asyncio loop is already
        running: the cell is awaited on it, like a cell with a top-level
        ``await`` (which works in the cell too). Script-era Tornado works as
        it did in a script: ``IOLoop.current().start()`` (or ``.instance()``)
        runs the loop until the cell's fetches, callbacks, timers and tasks
        are done, or until ``IOLoop.stop()``; ``run_sync(main)`` waits for
        ``main()``; ``fetch(url, callback)`` calls ``callback(response)``.
        Nothing the cell starts outlives it: tasks still running at its end
        are cancelled, and the kernel's loop is never stopped. After the cell:
        a timing table (one row per HTTP request, with the time it waited for
        a free connection), a timeline, and the callbacks the loop ran for the
        cell. ``geventtornado_magics.last_run()`` returns the record.
        """
        self._refuse_nesting()
        from .loop_reentry import run_until_complete

        return run_until_complete(self.run_tornado(line, cell))

    async def run_tornado(self, line: str, cell: str):
        """What a ``%%tornado`` cell awaits: parse, run on the running loop, show the report.

        A notebook's ``%%tornado`` cell is rewritten into ``await`` of this
        (see ``cell_transformer``), so that the kernel's loop runs it.
        """
        self._refuse_nesting()
        args = self._parse(self.tornado, line)
        from .tornado_runner import run_tornado_cell

        run = await run_tornado_cell(
            self.shell,
            cell,
            timeout=args.timeout,
            trace=args.trace,
            limits=self._limits(),
            blocking_threshold=self.blocking_threshold,
        )
        return self._show(run, line)

    @staticmethod
    def _refuse_nesting() -> None:
        from .cell_work import running_cell

        if running_cell() is not None:
            raise UsageError("%%tornado cannot run inside a %%tornado cell: put the code in the cell itself.")

    @magic_arguments()
    @argument("--stop", action="store_true", help="Stop this kernel's demo server.")
    @line_magic
    def demo_server(self, line):
        """The base URL of this kernel's demo HTTP server, started if needed.

        ``base = %demo_server`` gives e.g. ``'http://127.0.0.1:40919'``; fetch
        ``base + '/delay/0.5'``. The server is a child process bound to
        127.0.0.1, stopped when the kernel exits. ``%demo_server --stop``
        stops it now.
        """
        args = self._parse(self.demo_server, line)
        from . import demo

        if args.stop:
            demo.stop_server()
            return None
        return demo.server_url()

    def _limits(self) -> Limits:
        return Limits(events=self.max_events, requests=self.max_requests, tasks=self.max_tasks)

    @staticmethod
    def _parse(magic, line):
        try:
            return parse_argstring(magic, line)
        except UsageError as error:
            usage = magic.parser.format_usage().replace("::", "").strip()
            raise UsageError(f"{error}\nusage: %{usage}") from None

    def _show(self, run: Run, line: str):
        """Display the report, then give the cell's value, or raise its error."""
        global _last_run
        run.options = line.strip()
        _last_run = run
        display(run)
        if run.error is not None:
            raise _with_user_traceback(self.shell, run.error)
        return run.value


def _with_user_traceback(shell, error: BaseException) -> BaseException:
    """``error``, made to show only the cell's own frames when IPython prints it.

    The runner cut ``error.__traceback__`` to the cell's frames; raising it
    again from here adds the magic's frames in front. IPython renders an
    exception with ``_render_traceback_`` using that method instead, so the
    user sees the traceback of their cell, as for a plain cell.
    """
    trimmed = error.__traceback__

    def render():
        return shell.InteractiveTB.structured_traceback(type(error), error, trimmed, tb_offset=0)

    try:
        error._render_traceback_ = render
    except AttributeError:  # an exception type without a __dict__: show it as Python would
        pass
    return error
