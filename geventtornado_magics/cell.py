"""Compile and run a cell body the way IPython runs a plain cell.

A cell magic receives its body as a string. To make ``%%gevent`` and
``%%tornado`` cells behave like any other cell, the body goes through the
shell's own pipeline: ``transform_cell`` (so ``%magic`` and ``!cmd`` lines
work), the shell's AST transformers and ``__future__`` flags, a filename
registered with IPython's compiler cache (so tracebacks show the cell's own
lines), and the last expression kept apart so its value becomes ``Out[n]``.
"""

from __future__ import annotations

import ast
import types
from dataclasses import dataclass
from inspect import CO_COROUTINE

_TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass
class CompiledCell:
    """A cell body compiled to run in the user namespace."""

    source: str
    filename: str
    body: types.CodeType
    last_expr: types.CodeType | None
    #: True when the cell uses top-level ``await``: run it with ``run_async``.
    is_async: bool
    #: Blank lines IPython dropped from the top of the cell: code line + offset = cell line
    #: (``scope.CellScope.line_of`` maps code to cell lines).
    line_offset: int = 0

    def run(self, shell):
        """Run a synchronous cell; return the value of its last expression."""
        exec(self.body, shell.user_global_ns, shell.user_ns)
        if self.last_expr is not None:
            return eval(self.last_expr, shell.user_global_ns, shell.user_ns)
        return None

    async def run_async(self, shell):
        """Run a cell that may ``await`` at top level; return its last value."""
        result = eval(self.body, shell.user_global_ns, shell.user_ns)
        if _is_awaitable_code(self.body):
            await result
        if self.last_expr is None:
            return None
        value = eval(self.last_expr, shell.user_global_ns, shell.user_ns)
        if _is_awaitable_code(self.last_expr):
            value = await value
        return value

    def user_traceback(self, tb, *, cell_frames_only: bool = False):
        """Cut ``tb`` so it starts at the cell's first frame.

        What runs the cell (the magic, the runner) is not the user's business;
        what the cell called usually is, so only the frames above the cell are
        dropped. With ``cell_frames_only`` the frames below the cell's last one
        go too: for an interruption (Ctrl-C, a timeout) the point is where the
        cell was waiting, not the insides of the library it waited in.
        """
        while tb is not None and tb.tb_frame.f_code.co_filename != self.filename:
            tb = tb.tb_next
        if tb is None or not cell_frames_only:
            return tb
        frames = []
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                frames.append(tb)
            tb = tb.tb_next
        rebuilt = None
        for entry in reversed(frames):
            rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
        return rebuilt


def compile_cell(shell, source: str, *, allow_await: bool = False) -> CompiledCell:
    """Compile ``source`` as IPython would compile a cell.

    Raises ``SyntaxError`` for a body that does not parse, with the cell's
    filename and line so IPython shows it like any cell's syntax error.
    """
    transformed = shell.transform_cell(source)
    filename = shell.compile.cache(transformed, shell.execution_count, raw_code=source)
    tree = shell.compile.ast_parse(transformed, filename=filename)
    tree = shell.transform_ast(tree)

    flags = shell.compile.flags | (_TOP_LEVEL_AWAIT if allow_await else 0)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = compile(tree, filename, "exec", flags, dont_inherit=True)
    last_expr = None
    if last is not None:
        expression = ast.Expression(last.value)
        ast.copy_location(expression, last)
        last_expr = compile(expression, filename, "eval", flags, dont_inherit=True)
    is_async = any(_is_awaitable_code(code) for code in (body, last_expr) if code)
    offset = _leading_blank_lines(source) - _leading_blank_lines(transformed)
    return CompiledCell(source, filename, body, last_expr, is_async, offset)


def _leading_blank_lines(text: str) -> int:
    lines = text.splitlines()
    return next((i for i, line in enumerate(lines) if line.strip()), len(lines))


def _is_awaitable_code(code: types.CodeType) -> bool:
    # Top-level await compiles to a code object flagged as a coroutine.
    return bool(code.co_flags & CO_COROUTINE)
