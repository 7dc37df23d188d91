"""Raw pty output -> the text a terminal would show, one line at a time.

A progress bar rewrites its line with `\\r`; a terminal only keeps what is finally
visible, and so do we: `abc\\rxy\\n` becomes `xyc\\n`. Colour and other escape
sequences are dropped (TERM=dumb and NO_COLOR ask for none; some tools ignore that).
"""

import re

# Complete escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST), ESC with
# intermediates (ESC ( B), two-byte ESC X; and the start of one, cut by a read.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
                     r"|\x1b[ -/]+[0-~]|\x1b[@-Z\\-_]")
_ESCAPE_START = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[ -/]*)\Z")
_TOKEN = re.compile(r"\x1b|[\r\n\b]|[^\x1b\r\n\b]+")
# Control characters a terminal does not print (tab is kept as text).
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TerminalLine:
    """Tracks the current line like a terminal: a row of cells and a cursor."""

    def __init__(self) -> None:
        self.cells: list[str] = []
        self.col = 0
        self._pending = ""  # an escape sequence cut in two by a read

    @property
    def text(self) -> str:
        """What the terminal shows on the unfinished line."""
        return "".join(self.cells)

    def reset(self) -> None:
        self.cells, self.col = [], 0

    def feed(self, data: str) -> list[str]:
        """Consume raw output; return the lines it completed (without their newline)."""
        data = self._pending + data
        self._pending = ""
        done: list[str] = []
        pos = 0
        while pos < len(data):
            if data[pos] == "\x1b":
                m = _ESCAPE.match(data, pos)
                if m:
                    self._escape(m.group())
                    pos = m.end()
                    continue
                if _ESCAPE_START.match(data, pos):
                    self._pending = data[pos:]  # the rest comes with the next read
                    break
                pos += 1  # not a sequence we know: drop the ESC alone
                continue
            m = _TOKEN.match(data, pos)
            token = m.group()
            pos = m.end()
            if token == "\n":
                done.append(self.text)
                self.reset()
            elif token == "\r":
                self.col = 0
            elif token == "\b":
                self.col = max(0, self.col - 1)
            else:
                self._write(_INVISIBLE.sub("", token))
        return done

    def _write(self, text: str) -> None:
        if self.col > len(self.cells):
            self.cells.extend(" " * (self.col - len(self.cells)))
        self.cells[self.col:self.col + len(text)] = list(text)
        self.col += len(text)

    def _escape(self, seq: str) -> None:
        # Only "erase in line" changes what is visible; colours and the rest are ignored.
        if seq.startswith("\x1b[") and seq.endswith("K"):
            mode = seq[2:-1] or "0"
            if mode == "0":
                del self.cells[self.col:]
            elif mode == "1":
                self.cells[:self.col] = " " * min(self.col, len(self.cells))
            elif mode == "2":
                self.cells = [" "] * min(self.col, len(self.cells))
