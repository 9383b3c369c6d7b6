"""The replay player: ipywidgets controls over a Replay's frames, with the storyboard as its fallback.

A Replay displays as one bundle: the player (``application/vnd.jupyter.widget-view+json``)
where a live kernel has ipywidgets, and always the static storyboard
(``text/html``) and its text. A front end that cannot show the widget (a saved
notebook reopened without its kernel, an untrusted one, nbconvert, GitHub)
shows the storyboard instead. Stepping never re-runs the cell: every frame is
drawn from the recorded Run.
"""

from __future__ import annotations

from .render.replay import PLAYER_CONTEXT, frame_html, storyboard_html, storyboard_text, with_playheads
from .render.svg import render_svg
from .render.timeline import build_timeline
from .replay import Replay

#: Play speeds, in steps a second, and the Play widget's interval for each.
SPEEDS = {"1 step/s": 1000, "2 steps/s": 500, "5 steps/s": 200, "10 steps/s": 100, "25 steps/s": 40}


def replay_bundle(replay: Replay) -> dict:
    timeline = build_timeline(replay.run)
    bundle = {"text/html": storyboard_html(replay, timeline), "text/plain": storyboard_text(replay)}
    player = make_player(replay, timeline)
    if player is not None:
        view = player._repr_mimebundle_()
        bundle["application/vnd.jupyter.widget-view+json"] = view["application/vnd.jupyter.widget-view+json"]
    return bundle


def make_player(replay: Replay, timeline=None):
    """The player widget, or None where widgets cannot show (no ipywidgets, no kernel, nothing to step)."""
    try:
        import ipywidgets as widgets
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None or not replay.steps:
        return None
    timeline = timeline or build_timeline(replay.run)
    picture = render_svg(timeline)
    last = len(replay.steps) - 1

    slider = widgets.IntSlider(0, 0, last, description="step", continuous_update=True,
                               layout=widgets.Layout(width="420px"))
    play = widgets.Play(value=0, min=0, max=last, interval=SPEEDS["5 steps/s"], description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    speed = widgets.Dropdown(options=SPEEDS, value=SPEEDS["5 steps/s"], description="speed",
                             layout=widgets.Layout(width="190px"))
    back = widgets.Button(description="◀ step back", layout=widgets.Layout(width="110px"))
    forward = widgets.Button(description="step ▶", layout=widgets.Layout(width="90px"))
    jump = widgets.Button(description="next request event ⏭", layout=widgets.Layout(width="180px"))
    frame = widgets.HTML()

    def show(index: int) -> None:
        step = replay.steps[index]
        drawn = with_playheads(timeline, picture, [(step.time, "")])
        frame.value = frame_html(replay, index, context=PLAYER_CONTEXT) + f'<div style="max-width:1100px">{drawn}</div>'
        jump.disabled = replay.next_request_event(index) is None

    def go(index: int | None) -> None:
        if index is not None:
            slider.value = max(0, min(last, index))

    slider.observe(lambda change: show(change["new"]), names="value")
    speed.observe(lambda change: setattr(play, "interval", change["new"]), names="value")
    back.on_click(lambda _: go(slider.value - 1))
    forward.on_click(lambda _: go(slider.value + 1))
    jump.on_click(lambda _: go(replay.next_request_event(slider.value)))
    show(0)
    controls = widgets.HBox([back, forward, play, speed, jump])
    return widgets.VBox([controls, slider, frame])
