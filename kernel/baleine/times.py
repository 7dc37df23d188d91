"""Timestamps as Docker writes and prints them (RFC 3339 with nanoseconds, Go's Time.String)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

ZERO_TIME = "0001-01-01T00:00:00Z"


def parse(text: str) -> float | None:
    """Seconds since the epoch for an RFC 3339 timestamp (any number of fraction digits)."""
    if not text:
        return None
    main, frac, zone = text, "", ""
    if text.endswith("Z"):
        main, zone = text[:-1], "+00:00"
    elif len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        main, zone = text[:-6], text[-6:]
    if "." in main:
        main, frac = main.split(".", 1)
    try:
        dt = datetime.fromisoformat(main + zone)
    except ValueError:
        return None
    return dt.timestamp() + (float("0." + frac) if frac.isdigit() else 0.0)


def rfc3339_nano(seconds: float | None = None, nanos: int | None = None) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    if nanos is None:
        nanos = time.time_ns() if seconds is None else int(round(seconds * 1e9))
    whole, frac = divmod(nanos, 1_000_000_000)
    stamp = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{frac:09d}".rstrip("0")
    return stamp + (f".{fraction}" if fraction else "") + "Z"


def local_rfc3339(seconds: float) -> str:
    """Seconds precision in the local zone (history --human=false): `2017-01-01T12:00:03Z`."""
    dt = datetime.fromtimestamp(int(seconds)).astimezone()
    text = dt.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def go_time_string(seconds: float) -> str:
    """Go's Time.String() in the local zone: `2024-05-01 10:11:12 +0000 UTC`."""
    dt = datetime.fromtimestamp(int(seconds)).astimezone()
    return dt.strftime("%Y-%m-%d %H:%M:%S %z ") + (dt.tzname() or "")
