"""Small file-system helpers shared by every part that writes state."""

from __future__ import annotations

import os


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    directory = os.path.dirname(path) or "."
    # Unique per call, not per process: threads of one process may write the same file.
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def root_dir() -> str:
    """Where Baleine keeps its state: $BALEINE_ROOT, else $XDG_DATA_HOME/baleine."""
    root = os.environ.get("BALEINE_ROOT")
    if root:
        return os.path.abspath(root)
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "baleine")


class atomic_output:
    """A file opened for writing that appears at `path` only if the block succeeds."""

    def __init__(self, path: str, mode: int = 0o644):
        self.path = path
        self.tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}.tmp")
        self.mode = mode

    def __enter__(self):
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, self.mode)
        self.file = os.fdopen(fd, "wb")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
                self.file.close()
                os.replace(self.tmp, self.path)
                return False
        finally:
            if not self.file.closed:
                self.file.close()
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
        return False


class FileLock:
    """`with FileLock(path):` holds an exclusive flock on `path` (created 0600 if missing).

    The lock dies with the process, so a killed command never leaves a stale lock."""

    def __init__(self, path: str):
        self.path = path
        self.fd = -1

    def __enter__(self) -> "FileLock":
        import fcntl
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> bool:
        os.close(self.fd)
        return False


def tree_size(path: str) -> int:
    """Bytes of the regular files under `path` (what prune commands report as reclaimed)."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                pass
    return total
