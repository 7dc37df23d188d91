"""Root emulation with seccomp (Charliecloud's approach) for single-uid user namespaces.

The chown family and the set*id/setgroups family return 0 without doing anything,
so package managers that drop privileges or chown files keep going.  The filter
is built with PyPI's pyseccomp (ctypes over the system's libseccomp.so.2)."""

FAKED = [
    "chown", "fchown", "lchown", "fchownat",
    "setuid", "setgid", "setgroups", "setreuid", "setregid",
    "setresuid", "setresgid", "setfsuid", "setfsgid",
]


def fakeroot_filter():
    """Build (not load) the filter: import and build before pivot_root, load just before exec."""
    import pyseccomp as sc
    f = sc.SyscallFilter(sc.ALLOW)
    # Loading is allowed without no_new_privs because we hold CAP_SYS_ADMIN in our namespace.
    f.set_attr(sc.Attr.CTL_NNP, 0)
    for name in FAKED:
        f.add_rule(sc.ERRNO(0), name)
    return f


def available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        return False
    return True
