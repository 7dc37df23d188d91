"""Go formatting helpers: the image history strings are Go `fmt` output.

BuildKit writes `CMD %q`, `VOLUME %v`, `HEALTHCHECK %+v` with Go's fmt and
`time.Duration.String()`; these reproduce exactly what Go prints.
"""

from __future__ import annotations

import re

__all__ = [
    "go_quote",
    "go_q_list",
    "go_v_list",
    "format_duration",
    "parse_duration",
]

# strconv.Quote lives with the rest of Go's printing, in the output formatting package.
from baleine.format.gofmt import go_quote  # noqa: E402


def go_q_list(items) -> str:
    """fmt `%q` of a []string: `["a" "b"]`."""
    return "[" + " ".join(go_quote(item) for item in items) + "]"


def go_v_list(items) -> str:
    """fmt `%v` of a []string: `[a b]`."""
    return "[" + " ".join(str(item) for item in items) + "]"


# --- time.Duration --------------------------------------------------------

_NS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000,
       "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
       "h": 3_600_000_000_000}


def _frac(value: int, digits: int) -> tuple[str, int]:
    """Split value into (".fraction" without trailing zeros, integer part)."""
    scale = 10 ** digits
    frac = str(value % scale).rjust(digits, "0").rstrip("0")
    return ("." + frac if frac else ""), value // scale


def format_duration(ns: int) -> str:
    """time.Duration.String(): 0s, 500ms, 1.5s, 1m30s, 1h0m0s."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            frac, whole = _frac(u, 3)
            return f"{sign}{whole}{frac}\u00b5s"
        frac, whole = _frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, secs = _frac(u, 9)
    text = f"{secs % 60}{frac}s"
    minutes = secs // 60
    if minutes:
        text = f"{minutes % 60}m" + text
        hours = minutes // 60
        if hours:
            text = f"{hours}h" + text
    return sign + text


_COMPONENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds; ValueError with Go's message."""
    quoted = go_quote(text)
    rest = text
    sign = 1
    if rest[:1] in ("-", "+"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0
    while rest:
        match = _COMPONENT.match(rest)
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise ValueError(f"time: invalid duration {quoted}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        # the unit runs up to the next digit or dot
        if unit not in _NS:
            raise ValueError(f"time: unknown unit {go_quote(unit)} in duration {quoted}")
        scale = _NS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        rest = rest[match.end():]
    if total >= 1 << 63:
        raise ValueError(f"time: invalid duration {quoted}")
    return sign * total
