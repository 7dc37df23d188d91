"""Root emulation with seccomp (Charliecloud's approach) for single-uid user namespaces.

The chown family and the set*id/setgroups family return 0 without doing anything,
so package managers that drop privileges or chown files keep going.  The filter
is built with PyPI's pyseccomp (ctypes over the system's libseccomp.so.2).
With notify=True the chown family is answered by the monitor, which records the
intended owners (owners.py)."""

import os

CHOWNS = ["chown", "fchown", "lchown", "fchownat"]
FAKED = CHOWNS + [
    "setuid", "setgid", "setgroups", "setreuid", "setregid",
    "setresuid", "setresgid", "setfsuid", "setfsgid",
]


def fakeroot_filter(notify: bool = False):
    """Build (not load) the filter: import and build before pivot_root, load just before exec.

    notify: the chown family goes to a seccomp user-notification listener (notify_fd()
    after load; the monitor answers success and records the owners, see owners.py)
    instead of returning 0 in the kernel."""
    import pyseccomp as sc
    f = sc.SyscallFilter(sc.ALLOW)
    # Loading is allowed without no_new_privs because we hold CAP_SYS_ADMIN in our namespace.
    f.set_attr(sc.Attr.CTL_NNP, 0)
    for name in FAKED:
        f.add_rule(sc.NOTIFY if notify and name in CHOWNS else sc.ERRNO(0), name)
    return f


def notify_fd(f) -> int:
    """The listener fd of a loaded filter with NOTIFY rules (owned by libseccomp's context)."""
    import pyseccomp as sc
    fd = sc._libseccomp.seccomp_notify_fd(f._filter)  # noqa: SLF001 (no public accessor)
    if fd < 0:
        raise OSError(-fd, os.strerror(-fd))
    return fd


def available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        return False
    return True
