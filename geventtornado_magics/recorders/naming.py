"""Readable names for lanes: what a greenlet or task runs, in one short line."""

from __future__ import annotations

from ..render.units import clip

_ARG_WIDTH = 48
_MAX_ARGS = 4


def short_repr(value, width: int = _ARG_WIDTH) -> str:
    """``repr(value)``, clipped in the middle past ``width`` so both ends stay readable."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break the report
        text = f"<{type(value).__name__}>"
    return clip(text, width)


def call_label(function, args=(), kwargs=None) -> str:
    """``print_head('http://127.0.0.1:8000/delay/0.5')`` for ``spawn(print_head, url)``."""
    name = getattr(function, "__qualname__", None) or short_repr(function)
    parts = [short_repr(arg) for arg in args[:_MAX_ARGS]]
    parts += [f"{key}={short_repr(value)}" for key, value in (kwargs or {}).items()]
    if len(args) > _MAX_ARGS:
        parts.insert(_MAX_ARGS, "…")
    return f"{name}({', '.join(parts)})"


def numbered(labelled) -> dict:
    """``{key: name}`` for ``(key, label)`` pairs, a repeated label numbered from its second use.

    Three greenlets running ``print_head(url)`` for one URL become
    ``print_head(url)``, ``print_head(url) #2`` and ``print_head(url) #3``:
    one lane each, told apart.
    """
    seen: dict[str, int] = {}
    names = {}
    for key, label in labelled:
        seen[label] = seen.get(label, 0) + 1
        names[key] = label if seen[label] == 1 else f"{label} #{seen[label]}"
    return names
