"""Caps on what the recorders keep, so a cell of any size has a bounded report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Past a cap, a recorder counts what it drops and the report says so."""

    events: int = 200_000
    requests: int = 100_000
    tasks: int = 100_000


def dropped_past_caps(events: int, requests: int, tasks: int) -> dict[str, int]:
    """What the recorders dropped past their caps, for ``Run.dropped``: the kinds that dropped any."""
    counts = {"events": events, "requests": requests, "tasks": tasks}
    return {kind: count for kind, count in counts.items() if count}
