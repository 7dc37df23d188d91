"""Build failures, reported the way `docker build` (BuildKit) does.

    Dockerfile:3
    --------------------
       1 |     FROM busybox
       2 |     COPY a /a
       3 | >>> RUN exit 3
       4 |
    --------------------
    ERROR: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3
"""

from __future__ import annotations


class BuildError(Exception):
    """`message` follows `failed to solve: `; lines = (first, last) in the Dockerfile, or None."""

    def __init__(self, message: str, lines: tuple[int, int] | None = None):
        super().__init__(message)
        self.message = message
        self.lines = lines


def source_excerpt(filename: str, text: str, first: int, last: int) -> str:
    """BuildKit's source map print: the lines with `>>>`, two lines of context around
    a single line (one around a range), numbered on three columns."""
    lines = text.split("\n")
    if first < 1 or first > len(lines):
        return ""
    last = min(max(last, first), len(lines))
    start, end = first, last
    pad = 4 if first == last else 2
    p = 0
    while p < pad:
        if start > 1:
            start -= 1
            p += 1
        if end != len(lines):
            end += 1
            p += 1
        p += 1
    out = [f"{filename}:{first}", "-" * 20]
    for i in range(start, end + 1):
        mark = ">>>" if first <= i <= last else "   "
        out.append(f" {i:3d} | {mark} {lines[i - 1]}")
    out.append("-" * 20)
    return "\n".join(out) + "\n"
