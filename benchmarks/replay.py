"""Opening the replay and the questions of a large run: time and size.

    python -m benchmarks.replay [N]      # default N = 10,000

Runs the gevent and Tornado fetch workloads (``workloads.py``) at N requests
as ``%%gevent`` / ``%%tornado`` cells on an in-process shell, against the
loopback server, then times what a teacher waits for after the cell:

* ``replay()``: the steps, one per recorded switch or callback;
* the storyboard, the bundle a notebook stores (``text/html`` and ``text/plain``);
* the player's first frame (the frame and the timeline with its playhead):
  what the widget draws on opening and on every step;
* ``--predict``'s questions and their bundle (the report inside it included).

"Opens" is the replay, the storyboard and the first frame together. Each
figure is the median of 3; prints one line of JSON per model.
"""

from __future__ import annotations

import json
import statistics
import sys
from time import perf_counter

import geventtornado_magics
from geventtornado_magics.study.predict import Quiz, questions
from geventtornado_magics.render.replay import PLAYER_CONTEXT, frame_html, storyboard_bundle, with_playheads
from geventtornado_magics.render.svg import render_svg
from geventtornado_magics.render.timeline import build_timeline

from .inprocess import make_shell, run_cell
from .servers import FastServer
from .workloads import WORKLOADS

_REPEAT = 3


def timed(work) -> tuple[float, object]:
    """The median seconds of ``_REPEAT`` calls of ``work()``, and its last result."""
    times, result = [], None
    for _ in range(_REPEAT):
        start = perf_counter()
        result = work()
        times.append(perf_counter() - start)
    return statistics.median(times), result


def first_frame(replay) -> str:
    timeline = build_timeline(replay.run)
    drawn = with_playheads(timeline, render_svg(timeline), [(replay.steps[0].time, "")])
    return frame_html(replay, 0, context=PLAYER_CONTEXT) + drawn


def measure(shell, model: str, url: str, n: int) -> dict:
    shell.user_ns.update(URL=url, N=n)
    try:
        run_cell(shell, WORKLOADS[model].cell())
    except Exception:  # noqa: BLE001 - a run that failed late (a timeout on a busy machine) still replays
        pass
    run = geventtornado_magics.last_run()
    replay_s, replay = timed(run.replay)
    bundle_s, bundle = timed(lambda: storyboard_bundle(replay))
    frame_s, frame = timed(lambda: first_frame(replay))
    questions_s, asked = timed(lambda: questions(run))
    run.questions = asked
    quiz_s, quiz = timed(lambda: Quiz(run)._repr_mimebundle_())
    return {
        "model": model,
        "requests": len(run.requests),
        "failed": sum(not r.ok for r in run.requests),
        "steps": len(replay.steps),
        "replay_s": round(replay_s, 3),
        "storyboard_s": round(bundle_s, 3),
        "first_frame_s": round(frame_s, 3),
        "opens_s": round(replay_s + bundle_s + frame_s, 3),
        "storyboard_bytes": sum(len(part.encode()) for part in bundle.values()),
        "frame_bytes": len(frame.encode()),
        "questions": len(asked),
        "questions_s": round(questions_s, 3),
        "quiz_bundle_bytes": sum(len(part.encode()) for part in quiz.values()),
        "quiz_s": round(quiz_s, 3),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 10_000
    server = FastServer()
    url = server.start()
    try:
        shell = make_shell()
        shell.user_ns.update(URL=url, N=10)
        for model in WORKLOADS:  # warm: imports, the hub, the first patch_all()
            run_cell(shell, WORKLOADS[model].cell())
        for model in WORKLOADS:
            print(json.dumps(measure(shell, model, url, n)), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
