"""Run a magic cell on IPython's in-process shell the way a notebook does."""

from __future__ import annotations

from IPython.utils.capture import capture_output

import geventtornado_magics


def magic_cell(ip, magic: str, body: str, options: str = ""):
    """Run ``%%magic options`` over ``body``; return (the shell's result, the Run, the captured output)."""
    with capture_output() as captured:
        result = ip.run_cell(f"%%{magic} {options}\n{body}", store_history=True)
    return result, geventtornado_magics.last_run(), captured
