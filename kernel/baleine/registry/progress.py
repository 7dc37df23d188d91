"""Docker's pull/push display: plain status lines, or live progress bars on a terminal.

Without a terminal (or with NO_COLOR / TERM=dumb) Docker prints every status on its own line
and drops byte-progress messages entirely; on a terminal each layer keeps one line, updated
in place with ANSI cursor movements (moby's jsonmessage).
"""

from __future__ import annotations

import os
import threading
import time


def wants_live(stream) -> bool:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Progress:
    def __init__(self, stream, quiet: bool = False, live: bool | None = None):
        self.stream = stream
        self.quiet = quiet
        self.live = wants_live(stream) if live is None else live
        self._ids: list[str] = []
        self._last_draw = 0.0
        self._lock = threading.Lock()  # layers download in threads

    def line(self, text: str) -> None:
        """A message without an id (`Digest: ...`): always a new line."""
        if self.quiet:
            return
        with self._lock:
            self._line(text)

    def _line(self, text: str) -> None:
        self._ids.clear()  # lines above are frozen once something else is printed
        self.stream.write(text + "\n")
        self.stream.flush()

    def status(self, layer_id: str, text: str) -> None:
        if self.quiet:
            return
        with self._lock:
            if not self.live:
                self.stream.write(f"{layer_id}: {text}\n")
                self.stream.flush()
                return
            self._draw(layer_id, f"{layer_id}: {text}")

    def bytes(self, layer_id: str, action: str, current: int, total: int | None) -> None:
        """Downloading/Pushing with a bar: shown on a terminal only, at most 10 times a second."""
        if self.quiet or not self.live:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and (total is None or current < total):
            return
        self._last_draw = now
        with self._lock:
            self._draw(layer_id, f"{layer_id}: {action} {bar(current, total)}")

    def _draw(self, layer_id: str, text: str) -> None:
        if layer_id not in self._ids:
            self._ids.append(layer_id)
            self.stream.write(f"\x1b[2K\r{text}\n")
        else:
            up = len(self._ids) - self._ids.index(layer_id)
            self.stream.write(f"\x1b[{up}A\x1b[2K\r{text}\x1b[{up}B\r")
        self.stream.flush()


def bar(current: int, total: int | None, width: int = 50) -> str:
    """`[=====>      ]  1.2MB/3.4MB`, as jsonmessage's JSONProgress draws it."""
    from baleine.format.units import human_size
    if not total or total <= 0:
        return f"{human_size(current)}"
    filled = min(width, int(width * current / total))
    return f"[{'=' * filled}>{' ' * (width - filled)}] {human_size(current):>8}/{human_size(total)}"
