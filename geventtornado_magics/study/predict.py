"""Questions to predict a run before seeing it, generated from what the run did.

``%%gevent --predict`` and ``%%tornado --predict`` put three to five of these
in ``run.questions`` and show them before the report. Each answer is read
off the run itself (its requests, events and blocking stretches), so it is
right for this run on this machine, not for the run a teacher expected.
Like ``run.py`` this module imports nothing from IPython, gevent or Tornado.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from itertools import permutations

from .replay import url_label
from ..run import Run

#: A cell's time "is" one of the figures when within this ratio of it.
_CLOSE = 1.3
#: At most this many requests for the finishing-order question: past it, orders stop being readable.
_ORDER_MAX = 5


@dataclass(frozen=True)
class Question:
    """One question: ``answer`` is one of ``choices``; ``why`` says what the run did."""

    text: str
    choices: list[str]
    answer: str
    why: str = ""


class Quiz:
    """What ``--predict`` displays: the run's questions, then its report (or ``report``'s), collapsed."""

    def __init__(self, run: Run, report=None):
        self.run = run
        self.report = report if report is not None else run

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..render.predict import predict_bundle

        return predict_bundle(self.run, self.report._repr_mimebundle_())


def questions(run: Run) -> list[Question]:
    """Three to five questions about ``run``, in the order a lesson asks them."""
    asked = [
        _finishing_order(run),
        _how_long(run),
        _most_in_flight(run),
        _first_yield(run),
        _blocked(run),
    ]
    found = [question for question in asked if question is not None]
    if len(found) < 3:
        found.insert(0, _how_many_lanes(run))
    return found[:5]


def _finishing_order(run: Run) -> Question | None:
    requests = [r for r in run.requests if r.end is not None]
    labels = [url_label(r.url) for r in requests]
    if not 2 <= len(requests) <= _ORDER_MAX or len(set(labels)) < len(labels):
        return None  # identical URLs finish in an order no one can predict
    by_start = [url_label(r.url) for r in sorted(requests, key=lambda r: r.start)]
    by_end = [url_label(r.url) for r in sorted(requests, key=lambda r: r.end)]
    orders = [by_end, by_start, list(reversed(by_end))]
    orders += [list(order) for order in permutations(by_start)]
    choices = list(dict.fromkeys(" → ".join(order) for order in orders))[:3]
    # Shuffled, the same way every time for the same requests: sorted, the answer would sit first.
    random.Random(zlib.crc32(" ".join(by_start).encode())).shuffle(choices)
    answer = " → ".join(by_end)
    took = ", ".join(f"{url_label(r.url)} took {_seconds(r.end - r.start)}" for r in requests)
    return Question(
        "In which order do the requests finish?",
        choices,
        answer,
        f"They were sent in the order {' → '.join(by_start)}; {took}.",
    )


def _how_long(run: Run) -> Question | None:
    done = [r for r in run.requests if r.end is not None]
    if not done:
        return None
    durations = [r.end - r.start for r in done]
    total, longest = sum(durations), max(durations)
    # The fetching, first request sent to last answer: what the lesson is about. The cell's own
    # wall time adds its setup (imports, a first client), which a busy machine can stretch.
    span = max(r.end for r in done) - min(r.start for r in done)
    if _ratio(span, longest) <= _CLOSE:
        answer, distractor = longest, longest / len(durations) if len(durations) > 1 else longest * 3
    elif _ratio(span, total) <= _CLOSE:
        answer, distractor = total, total * 2
    else:
        answer, distractor = span, None  # neither: the measured time is the third choice
    figures = {_seconds(value): value for value in sorted({total, longest, answer, distractor} - {None})}
    if len(figures) < 3:
        return None
    why = (
        f"From the first request sent to the last answer: {_seconds(span)} (the whole cell, setup included: "
        f"{_seconds(run.wall)}). The {len(durations)} request(s) took {_seconds(total)} added up (one after "
        f"another), the longest {_seconds(longest)} (all at once)."
    )
    return Question(
        "About how long does the cell take to fetch everything, first request sent to last answer?",
        [f"about {text}" for text in figures],
        f"about {_seconds(answer)}",
        why,
    )


def _most_in_flight(run: Run) -> Question | None:
    from ..render.summary import peak_in_flight

    n = len(run.requests)
    if n < 2:
        return None
    peak = peak_in_flight(run.requests, run.wall)
    options = sorted({1, peak, n, max(2, n // 2)})
    if len(options) < 3:
        options = sorted({1, peak, n, n + 1})
    why = (
        f"At most {peak} of the {n} requests were open at once."
        if peak > 1
        else "The requests ran one after another: each waited for the one before it."
    )
    return Question("At most, how many requests are in flight at once?", [str(o) for o in options], str(peak), why)


def _first_yield(run: Run) -> Question | None:
    if run.model == "gevent":
        first = next((e for e in run.events if e.source != "hub" and e.target == "hub" and e.line), None)
        text = "At which line does a greenlet first give up control (switch to the hub)?"
        who = "greenlet"
    else:
        first = next((e for e in run.events if e.kind == "step" and e.source == "cell" and e.line), None)
        text = "At which line does the cell first give up control to the loop?"
        who = "cell"
    if first is None:
        return None
    lines = [n for n, line in enumerate(run.lines, 1) if _is_statement(line)]
    others = [n for n in lines if n != first.line]
    # The lines nearest to it: the plausible mistakes.
    others.sort(key=lambda n: (abs(n - first.line), n))
    chosen = sorted([first.line, *others[:3]])
    choices = [f"line {n}: {run.source_line(n)}" for n in chosen]
    answer = f"line {first.line}: {run.source_line(first.line)}"
    if who == "greenlet":
        why = f"{first.source} switched to the hub there, {_seconds(first.time)} into the cell; until then nothing else ran."
    else:
        why = f"The cell stood there, waiting, until the loop resumed it {_seconds(first.time)} into the cell."
    return Question(text, choices, answer, why)


def _blocked(run: Run) -> Question | None:
    if not run.events:
        return None  # without the trace (--no-trace) nothing measured it
    yes, no = "yes: something held the loop while others waited", "no: everything that waited let others run"
    if run.blocking:
        first = run.blocking[0]
        where = f" at line {first.line} ({run.source_line(first.line)})" if first.line else ""
        why = f"{first.task} held the loop for {_seconds(first.duration)}{where}. {first.hint}"
        return Question("Does anything block the loop?", [yes, no], yes, why.strip())
    return Question("Does anything block the loop?", [yes, no], no, "No greenlet or callback held it past the threshold.")


def _how_many_lanes(run: Run) -> Question:
    word = "greenlets" if run.model == "gevent" else "tasks"
    n = len(run.tasks)
    options = sorted({0, 1, n, n + 1, 2 * n})[:4] if n else [0, 1, 2]
    return Question(
        f"How many {word} does the cell start?",
        [str(o) for o in options],
        str(n),
        f"The cell started {n} {word}.",
    )


def _is_statement(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith(("#", "def ", "import ", "from ", "class ", "@"))


def _ratio(a: float, b: float) -> float:
    return max(a, b) / max(min(a, b), 1e-9)


def _seconds(value: float) -> str:
    from ..render.units import seconds

    return seconds(value)
