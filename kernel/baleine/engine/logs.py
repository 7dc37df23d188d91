"""Reading a container's json-file log as it grows (`logs -f`, `attach`)."""

from __future__ import annotations

import time


def follow(container, position: int, emit) -> bool:
    """Pass each log line (raw JSON bytes) written after byte `position` to `emit`, until the
    container has stopped and the log is drained. False if the log went away (removed)."""
    while True:
        running = container.running
        try:
            with open(container.log_path, "rb") as f:
                f.seek(position)
                data = f.read()
        except FileNotFoundError:
            return False
        complete, _, _ = data.rpartition(b"\n")
        if complete:
            for raw in complete.split(b"\n"):
                emit(raw)
            position += len(complete) + 1
        elif not running:
            return True
        else:
            time.sleep(0.05)
