"""Record the tasks a ``%%tornado`` cell starts: asyncio Tasks and ``@gen.coroutine`` runs.

Two kinds of coroutine run on a Tornado loop, and the cell may start both:

* native coroutines become asyncio Tasks (``asyncio.create_task``,
  ``gather``, ``IOLoop.spawn_callback``, Tornado awaiting a coroutine), all
  made by ``loop.create_task``. ``asyncio.Task`` is a C type that cannot be
  wrapped, but the loop has a public hook for this, the task factory: for the
  cell the loop gets one (deferring to any factory already set), and a Task
  created from the cell's context is the cell's.
* ``@gen.coroutine`` generators are driven by ``tornado.gen.Runner``, which
  is not a Task: it resumes the generator from plain loop callbacks. Its
  ``__init__`` and ``run`` (one step) are wrapped on the class for the cell.

Tasks whose coroutine is library code (Tornado's ``_HTTPConnection.run`` for
each fetch, asyncio's helpers, this package's own) are tracked as the cell's
work, so that ``IOLoop.start()`` waits for them and the end of the cell
cancels them, but not listed: the request table already has a row per fetch.

A task's end is taken from a done callback run outside the cell's context,
so the bookkeeping never shows up as one of the cell's callbacks.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Callable

from tornado import gen

from ..scope import Swapping, Swaps
from .work import TornadoScope, outside_the_cell
from ..render.units import error_text
from ..recorders.naming import call_label, short_repr

_Runner = gen.Runner

#: Where library coroutines live (asyncio, Tornado, this package): their tasks are
#: the cell's work, not its lanes.
_LIBRARY_DIRS = tuple(
    os.path.dirname(path) + os.sep
    for path in (asyncio.__file__, gen.__file__, os.path.dirname(os.path.abspath(__file__)))
)


@dataclass
class TaskRecord:
    """One task of the cell, as recorded while it ran."""

    #: ``id()`` of the Task or Runner: the lane key that events and requests refer to.
    key: int
    name: str
    #: The asyncio Task, or the Runner's result future.
    future: asyncio.Future
    spawned: float
    #: Lane key of the task (or the cell) that started it.
    spawned_by: int | None
    end: float | None = None

    @property
    def state(self) -> str:
        future = self.future
        if not future.done():
            return "running"
        if future.cancelled():
            return "cancelled"
        return "failed" if future.exception() is not None else "done"

    @property
    def outcome(self) -> tuple[str | None, str | None]:
        """``(result, error)`` as short text, for the report."""
        future = self.future
        if not future.done() or future.cancelled():
            return None, None
        # Reading the exception marks it retrieved: the report shows it instead of
        # asyncio's "never retrieved" warning at some later garbage collection.
        error = future.exception()
        if error is not None:
            return None, error_text(error)
        return short_repr(future.result()), None


class CellTasks(Swapping):
    """Context manager: ``records`` lists the cell's tasks, in the order they started.

    ``current_key()`` names who is running now (the stepping gen.coroutine,
    else the current Task), for the lanes of requests and spawned tasks.
    ``on_runner_step(key, generator)`` is called as a recorded gen.coroutine
    resumes, so a callback recorder can tell that the callback it is timing
    is that coroutine's step.
    """

    def __init__(
        self,
        scope: TornadoScope,
        on_runner_step: Callable[[int, object], None] | None = None,
    ):
        self.scope = scope
        self.work = scope.work
        self.on_runner_step = on_runner_step
        self.records: list[TaskRecord] = []
        self.dropped = 0
        self._recorded: set[int] = set()
        self._stepping: int | None = None
        self._previous_factory = None

    def swap_in(self, swaps: Swaps) -> None:
        loop = self.work.loop
        self._previous_factory = swaps.swap_setting(
            f"the task factory of the loop at {id(loop):#x}", loop.get_task_factory, loop.set_task_factory, self._task_factory
        )
        swaps.wrap(_Runner, "__init__", self._runner_init)
        swaps.wrap(_Runner, "run", self._runner_run)

    def current_key(self) -> int | None:
        if self._stepping is not None:
            return self._stepping
        task = asyncio.current_task(self.work.loop)
        return None if task is None else id(task)

    def _task_factory(self, loop, coro, **kwargs):
        # Python 3.11 and 3.12 pass context= only when given; 3.13.3 also passes name=, and 3.14
        # eager_start=: whatever create_task was given goes on to the factory that makes the task.
        if self._previous_factory is not None:
            task = self._previous_factory(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        context = kwargs.get("context")
        ours = self.work.owns(context) if context is not None else self.work.is_current()
        if ours:
            self.work.track(task)
            if not _is_library(coro):
                self._record(task, coro)
        return task

    def _runner_init(self, original):
        recorder = self

        def __init__(runner, ctx_run, generator, result_future, first_yielded):
            if recorder.work.is_current():
                recorder.work.track(result_future)
                if not _is_library(generator):
                    recorder._record(result_future, generator, key=id(runner))
            original(runner, ctx_run, generator, result_future, first_yielded)

        return __init__

    def _runner_run(self, original):
        recorder = self

        def run(runner):
            key = id(runner)
            if key not in recorder._recorded or runner.running or runner.finished:
                return original(runner)
            if recorder.on_runner_step is not None:
                recorder.on_runner_step(key, runner.gen)
            outer, recorder._stepping = recorder._stepping, key
            try:
                return original(runner)
            finally:
                recorder._stepping = outer

        return run

    def _record(self, future: asyncio.Future, coro, key: int | None = None) -> None:
        if len(self.records) >= self.scope.limits.tasks:
            self.dropped += 1
            return
        record = TaskRecord(
            key=id(future) if key is None else key,
            name=coroutine_label(coro),
            future=future,
            spawned=self.scope.now(),
            spawned_by=self.current_key(),
        )
        self.records.append(record)
        self._recorded.add(record.key)
        future.add_done_callback(lambda _: self._finished(record), context=outside_the_cell())

    def _finished(self, record: TaskRecord) -> None:
        record.end = self.scope.now()


def coroutine_label(coro) -> str:
    """``crawl('http://…/links/10/0')``: what a coroutine or generator runs, with its arguments.

    A coroutine that has not started holds exactly its arguments in its frame;
    one that has (a gen.coroutine's first step runs at once) holds them too,
    unless it rebound them.
    """
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    if frame is None:
        return f"{coro.__qualname__}()"
    code = frame.f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    if names[:1] in (("self",), ("cls",)):
        names = names[1:]
    local = frame.f_locals
    return call_label(coro, [local[name] for name in names if name in local])


def _is_library(coro) -> bool:
    return is_library_code(getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None))


def is_library_code(code) -> bool:
    """True for the code of asyncio, Tornado or this package: their work is not the cell's to show."""
    return code is not None and code.co_filename.startswith(_LIBRARY_DIRS)
