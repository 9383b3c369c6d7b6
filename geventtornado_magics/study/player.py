"""The replay player: ipywidgets controls over a Replay's frames, shown above the static storyboard.

A Replay displays as two outputs: the player, where a live kernel has
ipywidgets, then the storyboard (``text/html``, and its text). They are two
outputs, not one bundle with a fallback, because a front end that has a widget
view in a bundle shows nothing else of it: JupyterLab, reopening a saved
notebook whose widgets died with its kernel, shows "Error displaying widget:
model not found" (``jupyterlab_widgets/src/renderer.ts``), never the bundle's
``text/html``. So the storyboard is an output of its own, which every host
shows: a saved or untrusted notebook, nbconvert's HTML, GitHub. Stepping
never re-runs the cell: every frame is drawn from the recorded Run.
"""

from __future__ import annotations

from collections import deque

from IPython import get_ipython
from IPython.display import display

from ..render.replay import PLAYER_CONTEXT, frame_html, storyboard_bundle, with_playheads
from ..render.svg import render_svg
from ..render.timeline import build_timeline
from .replay import Replay

WIDGET = "application/vnd.jupyter.widget-view+json"
#: What a host that cannot show the player shows in its place.
PLAYER_TEXT = "Replay player: run the cell again in a live kernel to step through it. The storyboard below has its key steps."
#: Players kept live. Each holds its Run (every request and event) in the kernel for as long as it
#: lives; past this many the oldest is closed, and its output keeps the storyboard under it.
MAX_LIVE = 8
_live: deque[list] = deque()
#: Play speeds, in steps a second, and the Play widget's interval for each.
SPEEDS = {"1 step/s": 1000, "2 steps/s": 500, "5 steps/s": 200, "10 steps/s": 100, "25 steps/s": 40}


def show(replay: Replay) -> None:
    """Display the player (where widgets can show), then the storyboard."""
    timeline = build_timeline(replay.run)
    player = make_player(replay, timeline)
    if player is not None:
        display({WIDGET: widget_view(player), "text/plain": PLAYER_TEXT}, raw=True)
    display(storyboard_bundle(replay, timeline), raw=True)


def widget_view(widget) -> dict:
    """What a front end needs to draw ``widget``: the widget protocol's version and the model's id."""
    if hasattr(widget, "_repr_mimebundle_"):  # ipywidgets 8
        return widget._repr_mimebundle_()[WIDGET]
    # ipywidgets 7 (Colab's 7.7.1) only displays itself, in _ipython_display_, with this same view.
    return {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}


def make_player(replay: Replay, timeline=None):
    """The player widget, or None where widgets cannot show (no ipywidgets, no kernel, nothing to step)."""
    try:
        import ipywidgets as widgets
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None or not replay.steps:
        return None
    timeline = timeline or build_timeline(replay.run)
    picture = render_svg(timeline)
    count = len(replay.steps)

    # Numbered from 1, as the frames are: the slider's value is the step's number.
    slider = widgets.IntSlider(1, 1, count, description="step", continuous_update=True,
                               layout=widgets.Layout(width="420px"))
    play = widgets.Play(value=1, min=1, max=count, interval=SPEEDS["5 steps/s"], description="play")
    link = widgets.jslink((play, "value"), (slider, "value"))
    speed = widgets.Dropdown(options=SPEEDS, value=SPEEDS["5 steps/s"], description="speed",
                             layout=widgets.Layout(width="190px"))
    back = widgets.Button(description="◀ step back", layout=widgets.Layout(width="110px"))
    forward = widgets.Button(description="step ▶", layout=widgets.Layout(width="90px"))
    jump = widgets.Button(description="next request event »", layout=widgets.Layout(width="180px"))
    frame = widgets.HTML()

    def show(number: int) -> None:
        index = number - 1
        step = replay.steps[index]
        drawn = with_playheads(timeline, picture, [(step.time, "")])
        frame.value = frame_html(replay, index, context=PLAYER_CONTEXT) + f'<div style="max-width:1100px">{drawn}</div>'
        jump.disabled = replay.next_request_event(index) is None

    def go(index: int | None) -> None:
        if index is not None:
            slider.value = max(1, min(count, index + 1))

    slider.observe(lambda change: show(change["new"]), names="value")
    speed.observe(lambda change: setattr(play, "interval", change["new"]), names="value")
    back.on_click(lambda _: go(slider.value - 2))
    forward.on_click(lambda _: go(slider.value))
    jump.on_click(lambda _: go(replay.next_request_event(slider.value - 1)))
    show(1)
    controls = widgets.HBox([back, forward, play, speed, jump])
    player = widgets.VBox([controls, slider, frame])
    _keep_live([player, controls, slider, frame, play, link, speed, back, forward, jump])
    return player


def _keep_live(parts: list) -> None:
    """Count a new player among the live ones; close the oldest past ``MAX_LIVE``, every widget of it."""
    _live.append(parts)
    while len(_live) > MAX_LIVE:
        for widget in _live.popleft():
            widget.close()
