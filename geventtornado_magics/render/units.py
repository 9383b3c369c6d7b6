"""How the report writes numbers and long names: one place, so every view agrees."""

from __future__ import annotations


def seconds(value: float | None) -> str:
    """``1.23 s``, ``12 ms``, ``4.5 ms``, ``840 µs``: a duration in the unit that reads best."""
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def count(value: int) -> str:
    """``10,000``: thousands separated, so a class can read it aloud."""
    return f"{value:,}"


def times(factor: float) -> str:
    """``2.9×``, ``41×``, ``4,089×``: a ratio with the digits that matter."""
    return f"{factor:.1f}×" if factor < 10 else f"{factor:,.0f}×"


def plural(value: int, word: str, words: str | None = None) -> str:
    """``1 request``, ``3 requests``, ``10,000 greenlets``."""
    return f"{count(value)} {word if value == 1 else (words or word + 's')}"


def size(nbytes: int | None) -> str:
    """``14 B``, ``1.2 kB``, ``3.4 MB``."""
    if nbytes is None:
        return ""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def clip(text: str, width: int) -> str:
    """``text`` cut in the middle past ``width`` characters, so both ends stay readable.

    URLs and greenlet names (``fetch('http://…/delay/0.5')``) carry meaning at
    both ends: the host and call at the start, the path and argument at the end.
    """
    if len(text) <= width:
        return text
    keep = width - 1
    head = (keep + 1) // 2
    return f"{text[:head]}…{text[len(text) - (keep - head):]}"


def cut(text: str, width: int) -> str:
    """``text`` cut at the end past ``width`` characters, for prose whose start says most."""
    return text if len(text) <= width else text[: width - 1] + "…"


def common_origin(urls) -> str:
    """``http://127.0.0.1:41234`` when every URL is on that one server, else ``""``.

    Lessons fetch from one server (the demo server, on a port that changes
    every kernel): said once, it leaves names and URLs their telling part.
    """
    origin = ""
    for url in urls:
        if not origin:
            scheme, sep, rest = url.partition("://")
            if not sep:
                return ""
            origin = f"{scheme}://{rest.split('/', 1)[0]}"
        if not (url.startswith(origin) and url[len(origin) : len(origin) + 1] in ("", "/", "?")):
            return ""
    return origin


def relative(text: str, origin: str) -> str:
    """``fetch('/delay/0.5')`` for ``fetch('http://127.0.0.1:41234/delay/0.5')`` on that origin."""
    return text.replace(origin, "") if origin and origin in text else text


def error_text(error: BaseException) -> str:
    """``ConnectionRefusedError: [Errno 111] …``: an error in one line, for a row, a task or the report.

    Robust to an exception whose ``str()`` raises (the report of a failed cell
    must still render), and to one whose text names itself already
    (``IncompleteRead(5 bytes read)``).
    """
    name = type(error).__name__
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - see above
        text = ""
    if not text:
        return name
    return text if text.startswith(f"{name}(") else f"{name}: {text}"
