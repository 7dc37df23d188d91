"""Reach paths inside a root directory without ever leaving it.

Every access to a layer root goes through directory file descriptors opened from the root
fd (security.md 8.A.2). Symlinks met in a *parent* position are resolved as the container
would see them: relative to the root, `..` clamped at the root, at most 40 hops. The kernel
does that for us with openat2(RESOLVE_IN_ROOT) (Linux >= 5.6); elsewhere the walk emulates
it one component at a time with O_PATH|O_NOFOLLOW. A final component is never followed:
callers act on it with *at() calls relative to its parent fd.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from typing import Callable

SYS_OPENAT2 = 437  # same number on every Linux architecture
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
MAX_SYMLINK_HOPS = 40  # the kernel's MAXSYMLINKS

_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# Tests set this to False to exercise the emulation on kernels that have openat2.
use_openat2 = True
_openat2_works: bool | None = None


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_syscall = None


def openat2(dir_fd: int, path: str, flags: int, resolve: int) -> int:
    """openat2(2) through ctypes; raises OSError like os.open."""
    global _syscall
    if _syscall is None:
        libc = ctypes.CDLL(None, use_errno=True)
        _syscall = libc.syscall
        _syscall.restype = ctypes.c_long
    how = _OpenHow(flags, 0, resolve)
    fd = _syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dir_fd), os.fsencode(path),
                  ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return fd


def openat2_available() -> bool:
    """True when the kernel (and any seccomp filter) lets openat2 through."""
    global _openat2_works
    if _openat2_works is None:
        try:
            os.close(openat2(-100, "/", os.O_PATH | os.O_CLOEXEC, RESOLVE_NO_MAGICLINKS))
            _openat2_works = True
        except OSError:
            _openat2_works = False
    return _openat2_works and use_openat2


def split(path: str) -> list[str]:
    """Components of a normalised relative path ('' is the root)."""
    return [p for p in path.split("/") if p]


def open_root(root: str | os.PathLike) -> int:
    """O_PATH fd of the root directory itself (the caller trusts this path)."""
    return os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


RESOLVE_NO_SYMLINKS = 0x04


def open_dir(root_fd: int, parts: list[str], *, create: bool = False,
             on_create: Callable[[list[str]], None] | None = None) -> int:
    """O_PATH fd of the directory `parts` inside the root, resolved in-root.

    With create=True missing directories are made (mode 0755) and on_create is called with
    the real components of each one. Raises FileNotFoundError, NotADirectoryError or
    OSError(ELOOP) like the kernel would.
    """
    return resolve_dir(root_fd, parts, create=create, on_create=on_create)[0]


def resolve_dir(root_fd: int, parts: list[str], *, create: bool = False,
                on_create: Callable[[list[str]], None] | None = None) -> tuple[int, list[str]]:
    """Like open_dir, plus the directory's real path below the root (symlinks resolved)."""
    if not parts:
        return os.dup(root_fd), []
    if openat2_available():
        path = "/".join(parts)
        # No O_NOFOLLOW: the last component is a parent too, its symlink resolved in-root.
        flags = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
        try:
            # Fast path, and the real path is then the lexical one.
            fd = openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)
            return fd, _lexical(parts)
        except OSError as e:
            err = e.errno
        if err == errno.ELOOP:  # a symlink on the way: let the kernel resolve it in-root
            try:
                fd = openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            except OSError as e:
                err = e.errno
            else:
                real = _real_parts(root_fd, fd)
                if real is not None:
                    return fd, real
                os.close(fd)  # no /proc: the walk below knows the real path
        # The walk raises the right error itself, creates what is missing when asked, and
        # retries after EAGAIN/EXDEV (a racing rename or mount).
        if err in (errno.ENOENT, errno.ENOTDIR) and not create:
            raise OSError(err, os.strerror(err), path)  # FileNotFoundError / NotADirectoryError
    return _walk(root_fd, parts, create, on_create)


def _lexical(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        elif p not in ("", "."):
            out.append(p)
    return out


def _real_parts(root_fd: int, fd: int) -> list[str] | None:
    """Path of fd below the root, read back from /proc (None if that is not possible)."""
    try:
        root = os.readlink(f"/proc/self/fd/{root_fd}")
        path = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    if path == root:
        return []
    prefix = root.rstrip("/") + "/"
    return split(path[len(prefix):]) if path.startswith(prefix) else None


def _walk(root_fd: int, parts: list[str], create: bool, on_create) -> tuple[int, list[str]]:
    stack = [os.dup(root_fd)]  # fds of the directories resolved so far
    names: list[str] = []      # their real path below the root
    # (component, reached through a symlink): missing directories are created only for
    # components the caller named, never for a symlink's target (like mkdir -p).
    pending = [(p, False) for p in reversed(parts)]
    hops = 0
    try:
        while pending:
            name, via_link = pending.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if len(stack) > 1:  # clamp at the root, as chroot would
                    os.close(stack.pop())
                    names.pop()
                continue
            cur = stack[-1]
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=cur)
            except FileNotFoundError:
                if not create or via_link:
                    raise
                os.mkdir(name, 0o755, dir_fd=cur)
                fd = os.open(name, _DIR_FLAGS, dir_fd=cur)
                if on_create:
                    on_create(names + [name])
            except OSError as e:
                if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                st = os.stat(name, dir_fd=cur, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    raise
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name)
                target = os.readlink(name, dir_fd=cur)
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                        names.pop()
                pending.extend((p, True) for p in reversed(target.split("/")))
                continue
            stack.append(fd)
            names.append(name)
        return stack.pop(), names
    finally:
        for fd in stack:
            os.close(fd)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_listable(dir_fd: int, name: str) -> int:
    """A readable fd on the directory `name` (not followed), making it u+rx if needed."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:
        # A container may leave a directory mode 000; it is ours, so let us in.
        path_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            chmod_fd(path_fd, os.stat(path_fd).st_mode & 0o7777 | 0o700)
        finally:
            os.close(path_fd)
        return os.open(name, flags, dir_fd=dir_fd)


def chmod_fd(path_fd: int, mode: int) -> None:
    """chmod through an O_PATH fd (fchmod refuses those): go through /proc/self/fd."""
    os.chmod(f"/proc/self/fd/{path_fd}", mode)


def remove_entry(dir_fd: int, name: str) -> os.stat_result | None:
    """Remove `name` under dir_fd, a whole tree if it is a directory. Nothing is followed.

    Returns the lstat of what was removed, None when there was nothing.
    """
    st = lstat_at(dir_fd, name)
    if st is None:
        return None
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return st
    # Iterative depth-first removal: a hostile layer can nest 2000 directories deep.
    top = open_listable(dir_fd, name)
    stack = [(top, os.scandir(top), name)]  # (fd, its listing, its name in the parent)
    try:
        while stack:
            fd, listing, dirname = stack[-1]
            entry = next(listing, None)
            if entry is not None:
                if entry.is_dir(follow_symlinks=False):
                    child = open_listable(fd, entry.name)
                    stack.append((child, os.scandir(child), entry.name))
                else:
                    os.unlink(entry.name, dir_fd=fd)
                continue
            listing.close()
            os.close(fd)
            stack.pop()
            if stack:
                os.rmdir(dirname, dir_fd=stack[-1][0])
    finally:
        for fd, listing, _ in stack:
            listing.close()
            os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)
    return st
