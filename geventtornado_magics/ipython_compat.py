"""What the supported IPython releases (7.34 to 9) spell differently, in one place.

IPython 8.10 added ``output_can_be_silenced`` (a cell magic's value is
silenced by a ``;`` at the end of the cell) and
``DisplayHook.semicolon_at_end_of_expression``. On IPython 7.34 (Google Colab)
neither exists; the magics do the same themselves, so a ``;`` silences a
``%%gevent`` or ``%%tornado`` cell there too.
"""

from __future__ import annotations

import functools
import io
import tokenize

try:
    from IPython.core.magic import output_can_be_silenced
except ImportError:  # IPython < 8.10

    def output_can_be_silenced(magic):
        """The cell magic's value, or None when the cell ends with ``;``."""

        @functools.wraps(magic)
        def silenceable(self, line, cell=None):
            value = magic(self, line, cell)
            return None if cell is not None and semicolon_at_end(cell) else value

        return silenceable


try:
    from IPython.core.displayhook import DisplayHook

    _semicolon_at_end = DisplayHook.semicolon_at_end_of_expression
except AttributeError:  # IPython < 8.10: DisplayHook.quiet() does it inline, on the last input

    def _semicolon_at_end(text: str) -> bool:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        skipped = (tokenize.ENDMARKER, tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)
        last = next((token for token in reversed(tokens) if token[0] not in skipped), None)
        return last is not None and last[0] == tokenize.OP and last[1] == ";"


def semicolon_at_end(text: str) -> bool:
    """True when ``text`` ends with ``;``, which silences a cell's value; False if it does not tokenize."""
    try:
        return _semicolon_at_end(text)
    except (tokenize.TokenError, SyntaxError):
        return False  # compiling the cell will say why
