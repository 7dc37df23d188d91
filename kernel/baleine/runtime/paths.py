"""Resolve container paths inside a root directory without escaping it.

Symlinks are interpreted as the container would see them (absolute targets
restart at the root, `..` stops at the root), like filepath-securejoin.  Used at
set-up time, before any container process runs, and from the host side."""

import os
import stat

_MAX_HOPS = 40


def secure_join(root: str, path: str) -> str:
    """Host path of container path `path` under `root`, all symlinks resolved in-root.

    Missing trailing components are kept as they are (the caller may create them)."""
    root = os.path.abspath(root)
    pending = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            resolved.append(part)
            resolved.extend(p for p in pending if p not in ("", "."))
            # `..` after a missing component cannot go anywhere real: normalise lexically.
            out: list[str] = []
            for p in resolved:
                if p == "..":
                    if out:
                        out.pop()
                else:
                    out.append(p)
            return os.path.join(root, *out)
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > _MAX_HOPS:
                raise OSError(40, "too many levels of symbolic links", path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


def is_within(root: str, path: str) -> bool:
    root = os.path.abspath(root)
    path = os.path.abspath(path)
    return path == root or path.startswith(root.rstrip("/") + "/")


def read_in_root(root: str, path: str) -> bytes | None:
    """Contents of the regular file `path` of the container rootfs, or None if missing."""
    fd = None
    # openat2 needs a dirfd on the root: open it, then resolve inside.
    try:
        rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            from . import syscalls
            fd = syscalls.openat2(rootfd, path.lstrip("/") or ".", os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK,
                                  syscalls.RESOLVE_IN_ROOT | syscalls.RESOLVE_NO_MAGICLINKS)
        except OSError as exc:
            if exc.errno == 2:
                return None
            if exc.errno not in (38, 22):  # ENOSYS / EINVAL: old kernel, emulate
                raise
            host = secure_join(root, path)
            try:
                fd = os.open(host, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
            except FileNotFoundError:
                return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        if fd is not None:
            os.close(fd)
        os.close(rootfd)
