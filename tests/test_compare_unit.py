"""Side-by-side reports on constructed runs, and %compare_models' options on the in-process shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from geventtornado_magics.recorders.blocking import Stretch, hint_for
from geventtornado_magics.render.comparison import comparison_table, render_comparison_html, render_comparison_text
from geventtornado_magics.run import Comparison, Request, Run, Task

URL = "http://127.0.0.1:8000/delay/0.5"


def run_of(model: str, starts: list[float], duration: float = 0.5) -> Run:
    requests = [Request(URL, status=200, start=t, end=t + duration, task="cell") for t in starts]
    return Run(model=model, wall=max(starts) + duration, cpu=0.01, requests=requests)


def comparison() -> Comparison:
    return Comparison(
        "4 requests of /delay/0.5",
        {"sequential": run_of("sequential", [0, 0.5, 1.0, 1.5]), "gevent": run_of("gevent", [0, 0, 0, 0])},
        baseline="sequential",
        code={"sequential": "for url in URLS: ...", "gevent": "gevent.joinall(...)"},
    )


def test_speed_up_is_against_the_baseline():
    c = comparison()
    assert c.speedup("sequential") == pytest.approx(1.0)
    assert c.speedup("gevent") == pytest.approx(4.0)


def test_table_rows_say_wall_speed_up_overlap_and_peak():
    rows = [row.cells for row in comparison_table(comparison()).rows]
    assert rows[0][:6] == ["sequential", "2.00 s", "1.0×", "4 ok", "1.0×", "1"]
    assert rows[1][:6] == ["gevent", "500 ms", "4.0×", "4 ok", "4.0×", "4"]


def test_html_has_one_band_per_run_and_the_code_escaped():
    c = comparison()
    c.code["gevent"] = "<script>alert(1)</script>"
    html = render_comparison_html(c)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert html.count('class="gtm-request"') >= 8  # every request, in the live picture
    assert "gevent: the full report" in html and "sequential · 2.00 s" in html


def test_text_view_starts_with_the_walls():
    text = render_comparison_text(comparison())
    assert text.splitlines()[0] == "4 requests of /delay/0.5: sequential 2.00 s · gevent 500 ms"


@pytest.mark.parametrize(
    "line",
    ["--models gevent,fibers", "-n 0", "-n 10001", "--urls nothing_here", "--bogus"],
)
def test_compare_models_refuses_bad_options(ip, line):
    with pytest.raises(UsageError):
        ip.run_line_magic("compare_models", line)


def test_blocking_hints_name_the_usual_culprits():
    assert "gevent.sleep" in hint_for("    time.sleep(0.3)")
    assert "socket" in hint_for("data = urllib.request.urlopen(url).read()")
    assert "CPU-bound" in hint_for("total = sum(i * i for i in range(10**7))")


def test_a_long_stretch_with_nothing_waiting_is_not_blocking():
    from geventtornado_magics.recorders.blocking import BlockingWatch
    from geventtornado_magics.scope import CellScope

    run = Run(model="gevent", source="import slow_module\n", wall=0.3)
    watch = BlockingWatch(CellScope(), lambda: None, threshold=0.05)
    assert watch.blocking([Stretch(0.0, 0.2, "cell", 1)], run) == []
    run.tasks = [Task("other()", key=1, spawned=0.0, end=0.25)]
    (found,) = watch.blocking([Stretch(0.0, 0.2, "cell", 1)], run)
    assert (found.task, found.line, found.duration) == ("cell", 1, 0.2)
