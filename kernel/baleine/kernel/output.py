"""What the kernel sends for a command's output: terminal lines, streamed live.

Complete lines are sent as soon as they arrive (one message per read, not per line).
An unfinished line (a prompt, a slow progress bar) is shown after PARTIAL_DELAY; when it
changes later we resend it behind a `\\r`, which Jupyter frontends, nbclient's
coalesce_streams and nbval all collapse, so the stored text is what a terminal shows.
"""

import time
from typing import Callable

from .terminal import TerminalLine

PARTIAL_DELAY = 0.5


class LiveOutput:
    def __init__(self, send: Callable[[str], None], tables=None) -> None:
        self._send = send            # sends stdout text
        self._tables = tables        # an html.TableCollector in HTML mode, else None
        self._line = TerminalLine()
        self._shown = ""             # part of the unfinished line already sent
        self._changed_at = None      # when the unfinished line last changed, unsent

    def feed(self, raw: str) -> None:
        text = []
        for line in self._line.feed(raw):
            if self._tables is not None and not self._shown and self._tables.take(line):
                continue
            text.append(self._delta(line) + "\n")
            self._shown = ""
        if text:
            self._send("".join(text))
        if self._line.text != self._shown:
            self._changed_at = self._changed_at or time.monotonic()

    def idle(self) -> None:
        """Called when no output came for a while: show a pending unfinished line."""
        if self._changed_at and time.monotonic() - self._changed_at >= PARTIAL_DELAY:
            self._flush_partial()

    def end_command(self) -> None:
        """The shell prompt came back: send what is left of the line, close any table."""
        self._flush_partial()
        if self._tables is not None:
            self._tables.close()

    def take_prompt(self) -> str:
        """The unsent part of the unfinished line, removed (it becomes an input prompt)."""
        prompt = self._delta(self._line.text).lstrip("\r") if self._line.text != self._shown else ""
        self._line.reset()
        self._shown, self._changed_at = "", None
        return prompt

    def _flush_partial(self) -> None:
        current = self._line.text
        if current != self._shown:
            self._send(self._delta(current))
            self._shown = current
        self._changed_at = None

    def _delta(self, text: str) -> str:
        """Text that turns what was shown of this line into `text`."""
        if text.startswith(self._shown):
            return text[len(self._shown):]
        return "\r" + text
