"""Intended owners in a single-uid user namespace (org.baleine.fakeroot).

The fakeroot seccomp filter sends the chown family (chown, fchown, lchown, fchownat) to
a seccomp user-notification listener instead of faking success in the kernel.  The
monitor (outside the container) holds the listener: for each call it resolves the target
to a container-absolute path (through /proc/<pid>/mem, cwd, fd and root), appends
{"path", "uid", "gid"} (-1: unchanged) to `<state dir>/owners.jsonl`, then answers
success (never CONTINUE: the real call would fail with EPERM/EINVAL for an unmapped id).
The record is written and flushed before the caller is answered.

If the listener goes away (the monitor died), the kernel fails the pending and later
calls with ENOSYS: the container's chowns then fail, nothing hangs.

`docker commit` and the builder's RUN steps map the records onto the upper dir
(`intended()`): the last record for a path wins; a later rename of a chowned file is
not followed (the record stays with the old name).
"""

import os
import struct

OWNERS_FILE = "owners.jsonl"

# linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif) (80 bytes), _IOWR('!', 1, resp) (24),
# _IOW('!', 2, __u64)
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
NOTIF_ID_VALID = 0x40082102

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
UNCHANGED = 0xFFFFFFFF


def _syscall_numbers() -> dict:
    import platform
    machine = platform.machine()
    if machine == "x86_64":
        return {92: "chown", 93: "fchown", 94: "lchown", 260: "fchownat"}
    if machine in ("aarch64", "arm64"):
        return {55: "fchown", 54: "fchownat"}
    import pyseccomp as sc
    return {sc.resolve_syscall(sc.Arch.NATIVE, name): name
            for name in ("chown", "fchown", "lchown", "fchownat")}


def _read_string(pid: int, address: int) -> str:
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = b""
        while len(data) < 4096:
            want = 4096 - (address % 4096)
            chunk = os.pread(fd, want, address)
            if not chunk:
                break
            end = chunk.find(b"\0")
            if end >= 0:
                return os.fsdecode(data + chunk[:end])
            data += chunk
            address += len(chunk)
        raise OSError("unterminated path")
    finally:
        os.close(fd)


def _resolve(root: str, path: str, follow: bool) -> str:
    """`path` (container-absolute) with its symlinks resolved inside `root` (the
    last component only if `follow`)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = done + [part]
        if parts or follow:
            try:
                target = os.readlink(root + "/" + "/".join(candidate))
            except OSError:
                target = None
            if target is not None:
                hops += 1
                if hops > 40:
                    raise OSError("too many levels of symbolic links")
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                if target.startswith("/"):
                    done = []
                continue
        done.append(part)
    return "/" + "/".join(done)


def _link(pid: int, what: str) -> str:
    target = os.readlink(f"/proc/{pid}/{what}")
    if not target.startswith("/"):   # "socket:[...]", "anon_inode:...", or " (deleted)"
        raise OSError(f"not a path: {target}")
    return target.removesuffix(" (deleted)")


def target_path(pid: int, name: str, args) -> str | None:
    """The container-absolute path a chown-family call changes (None: not a file path)."""
    root = f"/proc/{pid}/root"
    if name == "fchown":
        return _link(pid, f"fd/{args[0] & 0xFFFFFFFF}")
    if name in ("chown", "lchown"):
        path, follow = _read_string(pid, args[0]), name == "chown"
        base = "cwd"
    else:  # fchownat(dirfd, path, uid, gid, flags)
        dirfd = struct.unpack("i", struct.pack("I", args[0] & 0xFFFFFFFF))[0]
        path = _read_string(pid, args[1])
        flags = args[4]
        follow = not flags & AT_SYMLINK_NOFOLLOW
        base = "cwd" if dirfd == AT_FDCWD else f"fd/{dirfd}"
        if not path and flags & AT_EMPTY_PATH:
            return _link(pid, base)
    if not path.startswith("/"):
        path = _link(pid, base) + "/" + path
    return _resolve(root, path, follow)


def serve(listener: int, state_dir: str) -> None:
    """Answer the listener's notifications until no process uses the filter any more."""
    import fcntl
    import json
    import select

    numbers = _syscall_numbers()
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    out = None
    try:
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            if not any(ev & select.POLLIN for _, ev in events):
                if any(ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, ev in events):
                    return
                continue
            buf = bytearray(80)
            try:
                fcntl.ioctl(listener, NOTIF_RECV, buf, True)
            except OSError:
                continue   # ENOENT: the caller was killed meanwhile; EINTR
            notif_id, pid, _ = struct.unpack_from("QII", buf, 0)
            nr = struct.unpack_from("i", buf, 16)[0]
            args = struct.unpack_from("6Q", buf, 32)
            name = numbers.get(nr)
            record = None
            if name is not None:
                uid = args[2] if name == "fchownat" else args[1]
                gid = args[3] if name == "fchownat" else args[2]
                try:
                    path = target_path(pid, name, args)
                except (OSError, ValueError, UnicodeError):
                    path = None
                if path is not None:
                    uid, gid = uid & 0xFFFFFFFF, gid & 0xFFFFFFFF
                    record = {"path": path, "uid": -1 if uid == UNCHANGED else uid,
                              "gid": -1 if gid == UNCHANGED else gid}
            try:
                # /proc/<pid> was read for this very call only if the notification is still valid
                fcntl.ioctl(listener, NOTIF_ID_VALID, struct.pack("Q", notif_id))
            except OSError:
                continue
            if record is not None:
                if out is None:
                    out = open(os.path.join(state_dir, OWNERS_FILE), "a")
                out.write(json.dumps(record) + "\n")
                out.flush()
            try:
                fcntl.ioctl(listener, NOTIF_SEND, struct.pack("QqiI", notif_id, 0, 0, 0))
            except OSError:
                pass   # ENOENT: the caller was killed meanwhile
    finally:
        if out is not None:
            out.close()
        os.close(listener)


def start(listener: int, state_dir: str) -> None:
    """serve() in a thread of the monitor (an ancestor of every container process, which
    /proc/<pid>/mem needs under Yama; the monitor does not fork after this).  An unexpected
    error ends serve(), which closes the listener: later chowns fail (ENOSYS), none hangs."""
    import _signal
    import _thread
    # The thread blocks every signal (it inherits the mask): signals for the monitor (SIGTERM
    # to forward, SIGCHLD) must interrupt the main thread's waitpid/poll, not land here.
    old = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
    try:
        _thread.start_new_thread(serve, (listener, state_dir))
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, old)


# --------------------------------------------------------------------------- commit side

def records(state_dir: str) -> dict:
    """path ("etc/x", relative) -> (uid, gid), -1 for a part never set; the last record wins."""
    import json
    result: dict = {}
    try:
        f = open(os.path.join(state_dir, OWNERS_FILE))
    except FileNotFoundError:
        return result
    with f:
        for line in f:
            try:
                rec = json.loads(line)
                rel = "/".join(p for p in rec["path"].split("/") if p not in ("", "."))
                uid, gid = int(rec["uid"]), int(rec["gid"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue   # a torn last line
            if not rel or ".." in rel.split("/"):
                continue
            old = result.get(rel, (-1, -1))
            result[rel] = (uid if uid != -1 else old[0], gid if gid != -1 else old[1])
    return result


def intended(state_dir: str, upper: str, metadata=None) -> dict:
    """owners= for write_layer: the recorded owners of the paths present in `upper`;
    a part left unchanged (-1) is the lower layers' owner (metadata) or root."""
    owners = {}
    for rel, (uid, gid) in records(state_dir).items():
        try:
            os.lstat(os.path.join(upper, rel))
        except OSError:
            continue   # deleted, or renamed (not followed)
        if uid == -1 or gid == -1:
            meta = metadata.get(rel) if metadata is not None else None
            base = (meta.uid, meta.gid) if meta is not None else (0, 0)
            uid = base[0] if uid == -1 else uid
            gid = base[1] if gid == -1 else gid
        owners[rel] = (uid, gid, None)
    return owners
