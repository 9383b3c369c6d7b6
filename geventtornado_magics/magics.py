"""The ``%%gevent`` and ``%%tornado`` cell magics: parse options, run, display.

Thin on purpose: the runners do the work and return a Run, the renderers
draw it. Settings are traitlets, so ``%config GeventTornadoMagics`` lists them
and ``%config GeventTornadoMagics.max_events = 10_000`` changes one.
"""

from __future__ import annotations

import argparse
import math

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Float, Integer

from .ipython_compat import output_can_be_silenced
from .run import Comparison, Run
from .scope import BLOCKING_THRESHOLD, CellOptions, Limits

_last_run: Run | None = None

#: ``--compare``'s second run of each model: what it is called, and the runner's options for it.
_WITHOUT = {
    "gevent": ("without patching", {"allow_patching": False}),
    "tornado": ("one request at a time", {"serial": True}),
}

#: Options both cell magics take.
_predict = argument(
    "--predict",
    action="store_true",
    help="Before the report (shown closed), ask 3 to 5 questions about the run, answers behind a click: "
    "last_run().questions.",
)
_replay = argument(
    "--replay",
    action="store_true",
    help="After the report, step through the run one switch or callback at a time: last_run().replay().",
)


def _seconds(text: str) -> float:
    """``--timeout``'s value: a positive, finite number of seconds.

    0 or less would stop the cell before it starts, and nan or inf never:
    both are a typo, not a timeout.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _plain_help(magic):
    """``%%gevent?`` help as plain text: no reST ``::`` before the usage line, no double backticks."""
    magic.__doc__ = magic.__doc__.replace("::\n\n", "", 1).replace("``", "")
    return magic


def _cell_only(name: str, cell: str | None) -> None:
    """``%gevent`` on one line: the magic is a line magic too only so that ``%gevent?`` shows its help."""
    if cell is None:
        raise UsageError(f"%%{name} runs a cell: put %%{name} on the cell's first line and the code under it.")


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
        BLOCKING_THRESHOLD,
        help="Seconds a greenlet may run without yielding, or a loop callback may run, while other "
        "work waits, before the report flags it as blocking the loop (0: never flag).",
    ).tag(config=True)

    @_plain_help
    @magic_arguments(name="%gevent")
    @argument(
        "--patch",
        action="store_true",
        help="Monkey-patch the safe modules (socket, ssl, select, selectors, time) before "
        "the cell runs, for cells that don't call monkey.patch_all() themselves.",
    )
    @argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="Stop the cell after SECONDS: kill its greenlets and show the partial report.",
    )
    @argument(
        "--no-trace",
        dest="trace",
        action="store_false",
        help="Record request timings only, not greenlet switches (for large runs).",
    )
    @argument(
        "--compare",
        action="store_true",
        help="Run the cell twice: as written, then with monkey patching refused, and show both "
        "with the speed-up. The cell's side effects happen twice.",
    )
    @_predict
    @_replay
    @output_can_be_silenced
    @line_cell_magic
    def gevent(self, line, cell=None):
        """Run the cell under gevent, in this kernel, and report what happened.

        Greenlets run on gevent's hub in the kernel's main thread. Monkey
        patching done in the cell (``monkey.patch_all()``) lasts for the cell
        only, and never touches threading or queue, which the kernel needs.
        After the cell: a timing table (one row per HTTP request), a timeline
        and the greenlet switches. ``geventtornado_magics.last_run()`` returns
        the record.
        """
        _cell_only("gevent", cell)
        args = self._parse(self.gevent, line)
        from .gevent_cell.runner import run_gevent_cell

        options = self._options(args)
        runs = [run_gevent_cell(self.shell, cell, options, patch=args.patch, **how) for how in self._runs("gevent", args)]
        return self._show_runs("gevent", runs, line, args)

    @_plain_help
    @magic_arguments(name="%tornado")
    @argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="Stop the cell after SECONDS: cancel its tasks and fetches and show the partial report.",
    )
    @argument(
        "--no-trace",
        dest="trace",
        action="store_false",
        help="Record request timings and tasks only, not loop callbacks (for large runs).",
    )
    @argument(
        "--compare",
        action="store_true",
        help="Run the cell twice: as written, then with every HTTP client sending one request at "
        "a time (max_clients=1), and show both with the speed-up. The cell's side effects happen twice.",
    )
    @_predict
    @_replay
    @output_can_be_silenced
    @line_cell_magic
    def tornado(self, line, cell=None):
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
        _cell_only("tornado", cell)
        self._refuse_nesting()
        from .tornado_cell.reentry import run_until_complete

        return run_until_complete(self.run_tornado(line, cell))

    async def run_tornado(self, line: str, cell: str):
        """What a ``%%tornado`` cell awaits: parse, run on the running loop, show the report.

        A notebook's ``%%tornado`` cell is rewritten into ``await`` of this
        (see ``tornado_cell.transformer``), so that the kernel's loop runs it.
        """
        self._refuse_nesting()
        args = self._parse(self.tornado, line)
        from .tornado_cell.runner import run_tornado_cell

        options = self._options(args)
        runs = [await run_tornado_cell(self.shell, cell, options, **how) for how in self._runs("tornado", args)]
        return self._show_runs("tornado", runs, line, args)

    @staticmethod
    def _refuse_nesting() -> None:
        from .tornado_cell.work import running_cell

        if running_cell() is not None:
            raise UsageError("%%tornado cannot run inside a %%tornado cell: put the code in the cell itself.")

    @_plain_help
    @magic_arguments()
    @argument("-n", "--requests", type=int, default=20, help="How many requests (default 20, at most 10,000).")
    @argument(
        "--path", default="/delay/0.5", help="The demo server's path every request fetches (default /delay/0.5)."
    )
    @argument("--urls", metavar="NAME", help="Fetch the URLs in this list variable instead of the demo server's.")
    @argument(
        "--models",
        default="sequential,threads,gevent,tornado,asyncio",
        help="The models to run, in order, comma-separated (default: all five).",
    )
    @line_magic
    def compare_models(self, line):
        """Fetch the same URLs under each concurrency model in turn, and show them side by side.

        The models: ``sequential`` (a plain loop over ``urllib.request``),
        ``threads`` (a thread per URL), ``gevent`` (a greenlet per URL, the
        standard library patched for the run), ``tornado`` (``AsyncHTTPClient``
        coroutines on the kernel's loop) and ``asyncio`` (bare asyncio streams).
        All run in this kernel, one after another. The report: wall time and
        speed-up over the sequential run, how much the requests overlapped,
        the peak in flight, CPU time, switches or callbacks, every run's
        requests on one time axis, and each run's full report and code.

        ``%compare_models`` fetches 20 times ``/delay/0.5`` from the demo
        server; ``%compare_models -n 100 --path /bytes/10000``;
        ``%compare_models --urls my_urls --models gevent,tornado``.
        """
        from .compare import MODELS, compare_models

        args = self._parse(self.compare_models, line)
        models = [model.strip() for model in args.models.split(",") if model.strip()]
        unknown = [model for model in models if model not in MODELS]
        if unknown or not models:
            raise UsageError(f"unknown model {', '.join(unknown) or '(none)'}: choose from {', '.join(MODELS)}")
        if args.urls:
            urls = self.shell.user_ns.get(args.urls)
            if not isinstance(urls, (list, tuple)) or not all(isinstance(url, str) for url in urls) or not urls:
                raise UsageError(f"--urls {args.urls} must name a non-empty list of URL strings")
            title = f"{len(urls):,} URLs from {args.urls}"
        else:
            if not 1 <= args.requests <= 10_000:
                raise UsageError("-n must be from 1 to 10,000")
            from . import demo

            urls = [demo.server_url() + args.path] * args.requests
            title = f"{args.requests:,} requests of {args.path}"
        return compare_models(self.shell, list(urls), title, models, self._limits())

    @_plain_help
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

    def _options(self, args) -> CellOptions:
        return CellOptions(args.timeout, args.trace, self._limits(), self.blocking_threshold)

    @staticmethod
    def _runs(model: str, args) -> list[dict]:
        """How the runner runs the cell each time: once as written, then, with ``--compare``, as ``_WITHOUT`` says."""
        return [{}, _WITHOUT[model][1]] if args.compare else [{}]

    def _show_runs(self, model: str, runs: list[Run], line: str, args):
        """Show a cell's run, or with ``--compare`` its two runs side by side; give its value or raise its error.

        The cell's value and error are those of the run as written.
        """
        if len(runs) == 1:
            return self._show(runs[0], line, args)
        as_written, without = runs
        label = _WITHOUT[model][0]
        without.options = line.strip()
        comparison = Comparison(
            f"the cell as written, then {label}",
            {"as written": as_written, label: without},
            baseline=label,
        )
        return self._show(as_written, line, args, report=comparison)

    def _limits(self) -> Limits:
        return Limits(events=self.max_events, requests=self.max_requests, tasks=self.max_tasks)

    @staticmethod
    def _parse(magic, line):
        try:
            return parse_argstring(magic, line)
        except UsageError as error:
            # The parser's prog is the magic's name with one % ("%gevent" for a cell magic),
            # and its usage starts with another.
            usage = magic.parser.format_usage().replace("::", "").strip()
            raise UsageError(f"{error}\nusage: {usage}") from None

    def _show(self, run: Run, line: str, args, report=None):
        """Display the report (after questions, with ``--predict``; then the replay, with ``--replay``),
        then give the cell's value, or raise its error."""
        global _last_run
        run.options = line.strip()
        _last_run = run
        report = report or run
        if args.predict:
            from .study.predict import Quiz, questions

            run.questions = questions(run)
            report = Quiz(run, report)
        display(report)
        if args.replay:
            display(run.replay())
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
