"""Human-readable sizes, durations, truncated IDs and display widths.

These reproduce docker/go-units and the docker CLI helpers (reference §0.3, §1)."""

from __future__ import annotations

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _scale(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(n: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: base 1000, `%.{p}g` then the unit, no space.

    Python's %g equals Go's here, including `1e+03kB` when rounding reaches 1000."""
    value, unit = _scale(float(n), 1000.0, _DECIMAL_UNITS)
    return "%.*g%s" % (precision, value, unit)


def bytes_size(n: float) -> str:
    """go-units BytesSize: base 1024, KiB/MiB/…, `%.4g`."""
    value, unit = _scale(float(n), 1024.0, _BINARY_UNITS)
    return "%.4g%s" % (value, unit)


def human_duration(seconds: float) -> str:
    """go-units HumanDuration (reference §1.2); callers add " ago" where needed."""
    if hasattr(seconds, "total_seconds"):  # datetime.timedelta
        seconds = seconds.total_seconds()
    secs = int(seconds)  # truncation toward zero, like Go's int()
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours_exact = seconds / 3600
    hours = int(hours_exact + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(hours_exact) // 24 // 365} years"


def truncate_id(s: str) -> str:
    """moby stringid.TruncateID: drop up to the first ':' then keep 12 characters."""
    i = s.find(":")
    if i >= 0:
        s = s[i + 1:]
    return s[:12]


def char_width(ch: str) -> int:
    """Terminal cells of one character: East-Asian Wide/Fullwidth = 2, all else 1."""
    if ch < "\u1100":  # nothing below U+1100 is wide
        return 1
    import unicodedata

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(s: str) -> int:
    """Width of a string in terminal cells (reference §0.2 rule 6)."""
    if s.isascii():
        return len(s)
    return sum(char_width(ch) for ch in s)


def ellipsis(s: str, n: int) -> str:
    """docker formatter Ellipsis: fit `s` in `n` cells, ending with '…' when cut."""
    if n <= 0:
        return ""
    if display_width(s) <= n:
        return s
    # Longest prefix of width <= n-1, then the one-cell ellipsis.
    width = 0
    for i, ch in enumerate(s):
        width += char_width(ch)
        if width > n - 1:
            return s[:i] + "…"
    return s  # not reached
