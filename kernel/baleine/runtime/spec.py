"""OCI runtime-spec bundles: load config.json, and write Docker-like defaults (`runc spec`)."""

import os

from .caps import DOCKER_DEFAULT
from .errors import RuntimeStartError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# moby daemon/pkg/oci/defaults.go (security.md §7.1)
MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
    "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# Annotations the engine may set on the bundle.
ANNOTATION_FAKEROOT = "org.baleine.fakeroot"   # seccomp chown/set*id -> 0, APT sandbox user root
ANNOTATION_OVERLAY = "org.baleine.rootfs.overlay"  # JSON {lowerdir: [...], upperdir, workdir, userxattr}
ANNOTATION_INIT = "org.baleine.init"           # --init: the monitor acts as the init for signals


def load(bundle_dir: str) -> dict:
    path = os.path.join(bundle_dir, "config.json")
    from . import jsonlite
    try:
        with open(path, "rb") as f:
            spec = jsonlite.loads(f.read())
    except FileNotFoundError:
        raise RuntimeStartError(f"cannot open bundle config {path}: no config.json", 125) from None
    except ValueError as exc:
        raise RuntimeStartError(f"invalid bundle config {path}: {exc}", 125) from None
    if not isinstance(spec.get("process"), dict) or not spec["process"].get("args"):
        raise RuntimeStartError("no command specified", 125)
    root = spec.get("root") or {}
    root_path = root.get("path") or "rootfs"
    if not os.path.isabs(root_path):
        root_path = os.path.join(os.path.abspath(bundle_dir), root_path)
    if not os.path.isdir(root_path):
        raise RuntimeStartError(f"rootfs {root_path} is not a directory", 125)
    spec["_root_path"] = os.path.realpath(root_path)
    spec["_bundle"] = os.path.abspath(bundle_dir)
    return spec


def annotation(spec: dict, key: str) -> bool:
    value = str((spec.get("annotations") or {}).get(key, "")).lower()
    return value in ("1", "true", "yes", "on")


def namespaces(spec: dict) -> dict:
    """{type: path-or-None} of linux.namespaces."""
    return {ns["type"]: ns.get("path") or None
            for ns in (spec.get("linux") or {}).get("namespaces") or []}


def default_spec(args: list[str], *, rootfs: str = "rootfs", rootless: bool | None = None,
                 hostname: str = "baleine", env: list[str] | None = None, cwd: str = "/",
                 terminal: bool = False, network: str = "none",
                 user: tuple[int, int, list[int]] = (0, 0, []),
                 readonly: bool = False, annotations: dict | None = None) -> dict:
    """A config.json like Docker's for `args`.  network: "none" (new netns, lo up) or "host"."""
    if rootless is None:
        rootless = os.geteuid() != 0
    caps = list(DOCKER_DEFAULT)
    uid, gid, extra = user
    process = {
        "terminal": terminal,
        "user": {"uid": uid, "gid": gid, **({"additionalGids": list(extra)} if extra else {})},
        "args": list(args),
        "env": list(env) if env is not None else [f"PATH={DEFAULT_PATH}", "HOSTNAME=" + hostname],
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps if uid == 0 else [],
                         "permitted": caps if uid == 0 else []},
        "noNewPrivileges": False,
    }
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
    ]
    ns = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if network != "host":
        ns.append({"type": "network"})
    linux: dict = {"namespaces": ns, "maskedPaths": list(MASKED_PATHS),
                   "readonlyPaths": list(READONLY_PATHS)}
    if rootless:
        # gid 5 (tty) is not mapped in a single-uid namespace (`runc spec --rootless` drops it).
        mounts[2]["options"].remove("gid=5")
        ns.append({"type": "user"})
        linux["uidMappings"] = [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    return {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": rootfs, "readonly": readonly},
        "hostname": hostname,
        "mounts": mounts,
        "linux": linux,
        "annotations": dict(annotations or {}),
    }


def write(bundle_dir: str, spec: dict) -> str:
    """Write config.json atomically."""
    path = os.path.join(bundle_dir, "config.json")
    import json
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(spec, f, indent=2)
    os.replace(tmp, path)
    return path
