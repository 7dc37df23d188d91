"""The state file of a container: written atomically, read by kill/state/exec."""

import os
import time

from . import jsonlite

STATE_FILE = "state.json"


def now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: tells a live process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return None
    return int(fields[19])


def write(state_dir: str, state: dict) -> None:
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    path = os.path.join(state_dir, STATE_FILE)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(jsonlite.dumps(state) + "\n")
    os.replace(tmp, path)


def read(state_dir: str) -> dict:
    path = os.path.join(state_dir, STATE_FILE)
    try:
        with open(path, "rb") as f:
            state = jsonlite.loads(f.read())
    except FileNotFoundError:
        from .errors import RuntimeStartError
        raise RuntimeStartError(f"container does not exist (no state in {state_dir})", 125) from None
    return refresh(state)


def refresh(state: dict) -> dict:
    """Correct `status` from the process table (the monitor may have died)."""
    if state.get("status") in ("running", "created", "creating"):
        pid = state.get("pid")
        if not pid or start_ticks(pid) != state.get("start_ticks"):
            state["status"] = "stopped"
    return state
