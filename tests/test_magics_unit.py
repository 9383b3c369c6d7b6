"""What both magics do alike with their options and help, on IPython's in-process shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from geventtornado_magics.scope import unrestored

from .cells import magic_cell

#: The usage line each magic's option errors end with.
USAGE = {
    "gevent": "usage: %%gevent [--patch] [--timeout SECONDS] [--no-trace]",
    "tornado": "usage: %%tornado [--timeout SECONDS] [--no-trace]",
}


@pytest.mark.parametrize("magic", USAGE)
def test_a_bad_option_is_a_usage_error_with_the_usage_line(ip, magic):
    with pytest.raises(UsageError) as error:
        ip.run_cell_magic(magic, "--bogus", "x = 1")
    assert "unrecognized arguments: --bogus" in str(error.value)
    assert USAGE[magic] in str(error.value)
    result, _, _ = magic_cell(ip, magic, "x = 1", "--timeout soon")
    assert isinstance(result.error_in_exec, UsageError)
    assert f"usage: %%{magic}" in str(result.error_in_exec)


@pytest.mark.parametrize("magic", ["gevent", "tornado"])
def test_help_with_one_or_two_percent_signs_is_plain_text_with_the_cell_usage_line(ip, magic):
    for query in (f"%{magic}?", f"%%{magic}?"):
        with capture_output() as captured:
            ip.run_cell(query)
        assert "not found" not in captured.stdout, query
        assert f"%%{magic} [--timeout SECONDS]" in captured.stdout or f"%%{magic} [--patch]" in captured.stdout
        assert "``" not in captured.stdout and "::" not in captured.stdout
    with pytest.raises(UsageError, match=f"%%{magic} runs a cell"):
        ip.run_line_magic(magic, "")


@pytest.mark.parametrize("magic", USAGE)
def test_value_namespace_and_display(ip, magic):
    result, run, captured = magic_cell(ip, magic, "shared = 6\nshared * 7")
    assert result.result == 42 and ip.user_ns["shared"] == 6
    assert run.value == 42 and run.model == magic and run.error is None
    assert len(captured.outputs) == 1
    bundle = captured.outputs[0].data
    assert "text/html" in bundle and bundle["text/plain"].startswith(f"%%{magic}")


@pytest.mark.parametrize("magic", USAGE)
def test_a_syntax_error_is_reported_like_a_cells_and_swaps_nothing(ip, magic):
    result, _, _ = magic_cell(ip, magic, "x = (\n")
    assert isinstance(result.error_in_exec, SyntaxError)
    assert unrestored() == []
