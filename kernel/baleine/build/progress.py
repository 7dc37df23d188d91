"""BuildKit's plain progress output on stderr (`--progress plain`, and `auto`/`tty` here).

    #1 [internal] load build definition from Dockerfile
    #1 transferring dockerfile: 215B done
    #1 DONE 0.0s

    #5 [2/4] RUN echo hi
    #5 0.104 hi
    #5 DONE 0.2s

A RUN step's own output is streamed as it comes, each line prefixed with the vertex number
and the seconds since the step started (by a forked pump: the builder stays single-threaded
so the runtime can clone()).
"""

from __future__ import annotations

import os
import select
import sys
import time


class Vertex:
    def __init__(self, progress: Progress, number: int, name: str):
        self.progress, self.number, self.name = progress, number, name
        self.started = time.monotonic()

    def _line(self, text: str) -> None:
        self.progress.write(f"#{self.number} {text}\n")

    def status(self, text: str) -> None:
        self._line(text)

    def log(self, text: str) -> None:
        self._line(f"{time.monotonic() - self.started:.3f} {text}")

    def cached(self) -> None:
        self._line("CACHED")
        self.progress.write("\n")

    def done(self) -> None:
        self._line(f"DONE {time.monotonic() - self.started:.1f}s")
        self.progress.write("\n")

    def error(self, message: str) -> None:
        self._line("ERROR: " + message)


class Progress:
    """Numbered vertices; `quiet` swallows everything (`-q`, `--progress quiet`)."""

    def __init__(self, mode: str = "plain", stream=None):
        self.quiet = mode == "quiet"
        self.stream = stream or sys.stderr
        self.count = 0

    def write(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text)
            self.stream.flush()

    def vertex(self, name: str) -> Vertex:
        self.count += 1
        vertex = Vertex(self, self.count, name)
        self.write(f"#{vertex.number} {name}\n")
        return vertex


def pump_output(read_fd: int, write_fd: int, vertex: Vertex, log_path: str, echo: bool) -> int:
    """Fork a process copying a RUN's output to stderr, prefixed, and to a log file (the
    error report shows its tail). Returns the pid to wait for."""
    pid = os.fork()
    if pid:
        os.close(read_fd)
        return pid
    try:
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.close(write_fd)  # else the pipe never reaches EOF
        out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        pending = b""
        while True:
            select.select([read_fd], [], [])
            data = os.read(read_fd, 65536)
            if data:
                os.write(out, data)
            lines = (pending + data).split(b"\n")
            pending = lines.pop() if data else b""
            if not data and lines == [b""]:
                lines = []
            if echo:
                stamp = f"#{vertex.number} {time.monotonic() - vertex.started:.3f} ".encode()
                text = b"".join(stamp + line.rstrip(b"\r") + b"\n" for line in lines if line or data)
                if text:
                    _write_all(2, text)
            if not data:
                break
    finally:
        os._exit(0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def tail(log_path: str, count: int = 10) -> list[str]:
    try:
        with open(log_path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-count:]
