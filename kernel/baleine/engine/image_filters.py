"""`--filter` for image lists (images, image prune), with Docker's keys and errors."""

from __future__ import annotations

import re

from baleine import reference, times
from baleine.errors import DaemonError

IMAGE_FILTER_KEYS = ("dangling", "reference", "label", "label!", "before", "since", "until")


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` and `?` never cross `/`; `[...]` classes with `^` negation."""
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            regex += "[^/]*"
        elif c == "?":
            regex += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return False
            body = pattern[i + 1:end]
            if body.startswith("^"):
                body = "^" + body[1:]
            regex += "[" + body.replace("\\", "\\\\") + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            regex += re.escape(pattern[i])
        else:
            regex += re.escape(c)
        i += 1
    return re.fullmatch(regex, name) is not None


class ImageFilter:
    def __init__(self, store, images, filters: list[str], allowed=IMAGE_FILTER_KEYS):
        self.values: dict[str, list[str]] = {}
        for f in filters:
            key, eq, value = f.partition("=")
            if not eq:
                raise DaemonError("bad format of filter (expected name=value)")
            if key not in allowed:
                raise DaemonError(f"invalid filter '{key}'")
            self.values.setdefault(key, []).append(value)
        self.lookup = {}
        for key in ("before", "since"):
            for value in self.values.get(key, []):
                self.lookup[key] = times.parse(store.lookup(value).created) or 0
        dangling = self.values.get("dangling")
        if dangling:
            if dangling[-1] not in ("true", "false", "1", "0"):
                raise DaemonError(f"invalid filter 'dangling={dangling[-1]}'")
        self.dangling = None if not dangling else dangling[-1] in ("true", "1")

    def keep(self, image) -> bool:
        if self.dangling is not None and image.dangling != self.dangling:
            return False
        if "reference" in self.values and not any(self.shows_reference(r) for r in image.refs):
            return False
        labels = (image.config.get("config") or {}).get("Labels") or {}
        for spec in self.values.get("label", []):
            if not _label_hit(labels, spec):
                return False
        for spec in self.values.get("label!", []):
            if _label_hit(labels, spec):
                return False
        created = times.parse(image.created) or 0
        if "before" in self.lookup and created >= self.lookup["before"]:
            return False
        if "since" in self.lookup and created <= self.lookup["since"]:
            return False
        for value in self.values.get("until", []):
            if created >= _until(value):
                return False
        return True

    def shows_reference(self, ref: reference.Reference) -> bool:
        patterns = self.values.get("reference")
        if not patterns:
            return True
        candidates = [ref.familiar(), ref.familiar_name, str(ref), ref.name]
        return any(path_match(p, c) for p in patterns for c in candidates)


def _label_hit(labels: dict, spec: str) -> bool:
    key, eq, value = spec.partition("=")
    return key in labels and (not eq or labels[key] == value)


def _until(value: str) -> float:
    """A timestamp, or a Go duration before now (`10m`, `2h`)."""
    import time
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", value)
    if m:
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        return time.time() - float(m.group(1)) * scale
    if value.replace(".", "", 1).isdigit():
        return float(value)
    parsed = times.parse(value)
    if parsed is None:
        raise DaemonError(f"failed to parse value {value!r} as a timestamp or duration")
    return parsed
