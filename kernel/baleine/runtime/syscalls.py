"""Thin ctypes wrappers for the Linux calls Python 3.11 does not expose.

x86_64 syscall numbers are used where glibc has no wrapper (or an awkward one):
clone 56, capget 125, capset 126, pivot_root 155, unshare 272, setns 308,
close_range 436, openat2 437.  Everything raises OSError with errno on failure.
"""

import ctypes
import errno
import os

SYS_CLONE = 56
SYS_CAPGET = 125
SYS_CAPSET = 126
SYS_PIVOT_ROOT = 155
SYS_UNSHARE = 272
SYS_SETNS = 308
SYS_OPENAT2 = 437

# Namespace flags (linux/sched.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# Mount flags (linux/mount.h).
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# prctl options (linux/prctl.h).
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_libc = ctypes.CDLL(None, use_errno=True)
# PyDLL keeps the GIL held across the call: a clone()d child then returns into
# the interpreter in a consistent state (it owns the GIL, as the parent does).
_libc_gil = ctypes.PyDLL(None, use_errno=True)

_libc.syscall.restype = ctypes.c_long
_libc_gil.syscall.restype = ctypes.c_long
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong, ctypes.c_ulong)


def _check(result: int, what: str, path=None) -> int:
    if result < 0:
        err = ctypes.get_errno()
        if path is not None:
            raise OSError(err, f"{what}: {os.strerror(err)}", path)
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _b(value):
    if value is None:
        return None
    return os.fsencode(value)


def clone(flags: int) -> int:
    """fork()-like clone with namespace flags: returns 0 in the child, the child's pid in the parent.

    Only safe in a single-threaded process (no atfork handlers run)."""
    sigchld = 17
    pid = _libc_gil.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_ulong(flags | sigchld),
                            ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_void_p(0),
                            ctypes.c_ulong(0))
    return _check(pid, "clone")


def unshare(flags: int) -> None:
    _check(_libc.syscall(ctypes.c_long(SYS_UNSHARE), ctypes.c_int(flags)), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.syscall(ctypes.c_long(SYS_SETNS), ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), ctypes.c_char_p(_b(new_root)),
                         ctypes.c_char_p(_b(put_old))), "pivot_root", new_root)


def mount(source, target, fstype, flags: int = 0, data=None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), "mount", target)


def umount2(target, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), "umount2", target)


def sethostname(name: str) -> None:
    data = name.encode()
    _check(_libc.sethostname(data, len(data)), "sethostname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), "prctl")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_CAP_V3 = 0x20080522


def capget() -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of the calling thread, as 64-bit masks."""
    header = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    _check(_libc.syscall(ctypes.c_long(SYS_CAPGET), ctypes.byref(header), data), "capget")
    return tuple(data[0].__getattribute__(f) | (data[1].__getattribute__(f) << 32)
                 for f in ("effective", "permitted", "inheritable"))


def capset(effective: int, permitted: int, inheritable: int) -> None:
    header = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.syscall(ctypes.c_long(SYS_CAPSET), ctypes.byref(header), data), "capset")


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    how = _OpenHow(flags, mode, resolve)
    return _check(_libc.syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dirfd),
                                ctypes.c_char_p(_b(path)), ctypes.byref(how),
                                ctypes.c_size_t(ctypes.sizeof(how))), "openat2", path)


def loopback_up() -> None:
    """Set IFF_UP on `lo` (SIOCGIFFLAGS/SIOCSIFFLAGS on a datagram socket); ctypes only,
    importing the socket module costs more than the container start."""
    import struct
    fd = _check(_libc.socket(2, 2 | 0o2000000, 0), "socket")   # AF_INET, SOCK_DGRAM|CLOEXEC
    try:
        ifreq = ctypes.create_string_buffer(struct.pack("16sH22x", b"lo", 0), 40)
        _check(_libc.ioctl(fd, ctypes.c_ulong(0x8913), ifreq), "ioctl(SIOCGIFFLAGS)")
        flags = struct.unpack_from("H", ifreq.raw, 16)[0] | 0x1   # IFF_UP
        struct.pack_into("H", ifreq, 16, flags)
        _check(_libc.ioctl(fd, ctypes.c_ulong(0x8914), ifreq), "ioctl(SIOCSIFFLAGS)")
    finally:
        os.close(fd)


def errno_name(err: int) -> str:
    return errno.errorcode.get(err, str(err))
