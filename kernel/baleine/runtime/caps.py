"""Capabilities: names, Docker's default set, and applying a spec's sets."""

import os

from . import syscalls

NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
NUMBERS = {name: number for number, name in enumerate(NAMES)}

# moby daemon/pkg/oci/caps/defaults.go
DOCKER_DEFAULT = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def mask(names) -> int:
    """Bit mask of a list of capability names (unknown names are ignored, like runc warns)."""
    value = 0
    for name in names or ():
        name = name.upper()
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name in NUMBERS:
            value |= 1 << NUMBERS[name]
    return value


def drop_bounding(keep: int, top: int) -> None:
    for cap in range(top + 1):
        if not keep & (1 << cap):
            try:
                syscalls.prctl(syscalls.PR_CAPBSET_DROP, cap)
            except OSError as exc:
                if exc.errno != 22:  # EINVAL: capability unknown to this kernel
                    raise


def apply_sets(spec_caps: dict, top: int) -> None:
    """Set effective/permitted/inheritable then ambient from process.capabilities."""
    full = (1 << (top + 1)) - 1
    effective = mask(spec_caps.get("effective")) & full
    permitted = mask(spec_caps.get("permitted")) & full
    inheritable = mask(spec_caps.get("inheritable")) & full
    ambient = mask(spec_caps.get("ambient")) & full
    syscalls.capset(effective, permitted | effective, inheritable | ambient)
    for cap in range(top + 1):
        if ambient & (1 << cap):
            syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_RAISE, cap)


def current_bounding() -> int:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return 0
