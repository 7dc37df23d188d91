"""The container's filesystem view: spec mounts, /dev, pivot_root, masked and read-only paths.

Runs in the container's first process, in its new mount namespace, before exec."""

import os
import stat

from . import syscalls as sc
from .spec import ANNOTATION_OVERLAY
from .paths import secure_join

_FLAGS = {
    "ro": (sc.MS_RDONLY, True), "rw": (sc.MS_RDONLY, False),
    "nosuid": (sc.MS_NOSUID, True), "suid": (sc.MS_NOSUID, False),
    "nodev": (sc.MS_NODEV, True), "dev": (sc.MS_NODEV, False),
    "noexec": (sc.MS_NOEXEC, True), "exec": (sc.MS_NOEXEC, False),
    "sync": (sc.MS_SYNCHRONOUS, True), "async": (sc.MS_SYNCHRONOUS, False),
    "dirsync": (sc.MS_DIRSYNC, True), "remount": (sc.MS_REMOUNT, True),
    "mand": (sc.MS_MANDLOCK, True), "nomand": (sc.MS_MANDLOCK, False),
    "atime": (sc.MS_NOATIME, False), "noatime": (sc.MS_NOATIME, True),
    "diratime": (sc.MS_NODIRATIME, False), "nodiratime": (sc.MS_NODIRATIME, True),
    "relatime": (sc.MS_RELATIME, True), "norelatime": (sc.MS_RELATIME, False),
    "strictatime": (sc.MS_STRICTATIME, True), "nostrictatime": (sc.MS_STRICTATIME, False),
    "bind": (sc.MS_BIND, True), "rbind": (sc.MS_BIND | sc.MS_REC, True),
}
_PROPAGATION = {
    "private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE, "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}
# Options runc understands and ignores at mount(2) level.
_IGNORED = {"defaults", "z", "Z", "nocopy", "idmap", "ridmap"}

DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]
APT_CONF_PATH = "/dev/.baleine-apt.conf"
INIT_PATH = "/dev/init"   # tini-static from the host, for --init (Docker: /sbin/docker-init)


def parse_options(options):
    """-> (flags, propagation, data list)."""
    flags, propagation, data = 0, 0, []
    for option in options or ():
        if option in _FLAGS:
            bit, on = _FLAGS[option]
            flags = flags | bit if on else flags & ~bit
        elif option in _PROPAGATION:
            propagation |= _PROPAGATION[option]
        elif option not in _IGNORED:
            data.append(option)
    return flags, propagation, data


def locked_flags(path: str) -> int:
    """Flags a bind remount must repeat: in a user namespace the kernel refuses to clear
    nosuid/nodev/noexec/atime flags of mounts inherited from a more privileged namespace."""
    f = os.statvfs(path).f_flag
    flags = 0
    for st_bit, ms_bit in ((os.ST_NOSUID, sc.MS_NOSUID), (os.ST_NODEV, sc.MS_NODEV),
                           (os.ST_NOEXEC, sc.MS_NOEXEC), (os.ST_NOATIME, sc.MS_NOATIME),
                           (os.ST_NODIRATIME, sc.MS_NODIRATIME),
                           (os.ST_RELATIME, sc.MS_RELATIME)):
        if f & st_bit:
            flags |= ms_bit
    if not f & (os.ST_NOATIME | os.ST_RELATIME):
        flags |= sc.MS_STRICTATIME
    return flags


def remount_bind(path: str, flags: int) -> None:
    sc.mount(None, path, None, sc.MS_BIND | sc.MS_REMOUNT | flags | locked_flags(path))


def remount_tree_readonly(target: str) -> None:
    """Make every mount at or below `target` read-only (an rbind keeps sub-mounts rw)."""
    below = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == target or point.startswith(target.rstrip("/") + "/"):
                below.append(point)
    for point in below:
        try:
            remount_bind(point, sc.MS_RDONLY)
        except OSError:
            pass


def _make_target(host_path: str, is_dir: bool) -> None:
    if os.path.lexists(host_path):
        return
    os.makedirs(os.path.dirname(host_path), exist_ok=True)
    if is_dir:
        os.mkdir(host_path, 0o755)
    else:
        os.close(os.open(host_path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def _bind(source: str, target: str, flags: int, propagation: int) -> None:
    sc.mount(source, target, None, sc.MS_BIND | (flags & sc.MS_REC))
    extra = flags & ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
    if extra:
        remount_bind(target, extra)
    if propagation:
        sc.mount(None, target, None, propagation)


class MountContext:
    """What set-up needs to know, computed by the parent before the child starts."""

    def __init__(self, root: str, bundle: str, in_userns: bool, new_netns: bool):
        self.root = root
        self.bundle = bundle
        self.in_userns = in_userns
        self.new_netns = new_netns
        self.dev_is_tmpfs = False
        self.warnings: list[str] = []


def mount_one(ctx: MountContext, m: dict) -> None:
    dest = m.get("destination") or ""
    if not dest.startswith("/"):
        raise OSError(22, f"mount destination {dest!r} is not absolute")
    kind = m.get("type") or ""
    source = m.get("source") or ""
    flags, propagation, data = parse_options(m.get("options"))
    is_bind = kind == "bind" or flags & sc.MS_BIND
    target = secure_join(ctx.root, dest)
    if is_bind:
        if not os.path.isabs(source):
            source = os.path.join(ctx.bundle, source)
        _make_target(target, os.path.isdir(source))
        _bind(source, target, flags | sc.MS_BIND, propagation)
        return
    _make_target(target, True)
    if kind in ("cgroup", "cgroup2"):
        # The host's hierarchy, read-only; best effort (hybrid v1 here, often refused rootless).
        try:
            _bind("/sys/fs/cgroup", target, sc.MS_BIND | sc.MS_REC, 0)
            if flags & sc.MS_RDONLY:
                remount_tree_readonly(target)
        except OSError:
            pass
        return
    try:
        sc.mount(source or kind, target, kind, flags & ~sc.MS_REC, ",".join(data) or None)
    except OSError as exc:
        if kind == "devpts" and exc.errno == 22 and any(d.startswith("gid=") for d in data):
            # gid 5 (tty) is not mapped in a single-uid user namespace.
            data = [d for d in data if not d.startswith("gid=")]
            sc.mount(source or kind, target, kind, flags, ",".join(data) or None)
        elif kind in ("sysfs", "proc") and exc.errno in (1, 13, 16):
            # sysfs needs a network namespace owned by our user namespace; proc may be
            # refused when the host /proc is partly masked: bind the host's, read-only.
            host = "/" + kind.replace("sysfs", "sys")
            _bind(host, target, sc.MS_BIND | sc.MS_REC, 0)
            if flags & sc.MS_RDONLY:
                remount_tree_readonly(target)
        elif kind == "mqueue" and exc.errno in (1, 13):
            ctx.warnings.append(f"mqueue not mounted at {dest}: {exc.strerror}")
        else:
            raise
    if propagation:
        sc.mount(None, target, None, propagation)
    if dest == "/dev" and kind == "tmpfs":
        ctx.dev_is_tmpfs = True


def setup_dev(ctx: MountContext, devices: list, apt_conf: str | None,
              init_binary: str | None = None) -> None:
    """Device nodes as bind mounts of the host's (mknod is refused in a user namespace)."""
    if not ctx.dev_is_tmpfs:
        return
    dev = os.path.join(ctx.root, "dev")
    names = list(DEVICES)
    for d in devices or ():
        path = d.get("path", "")
        if path.startswith("/dev/") and path[5:] not in names:
            names.append(path[5:])
    for name in names:
        host = "/dev/" + name
        if not os.path.exists(host):
            continue
        target = os.path.join(dev, name)
        if os.path.lexists(target):
            continue
        _make_target(target, False)
        sc.mount(host, target, None, sc.MS_BIND)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                       ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                       ("core", "/proc/kcore"), ("ptmx", "pts/ptmx")):
        target = os.path.join(dev, name)
        if not os.path.lexists(target):
            os.symlink(link, target)
    if apt_conf:
        # APT's configuration lives outside the rootfs: a read-only bind on the /dev tmpfs,
        # so nothing is left in the layer a commit would capture.
        target = os.path.join(ctx.root, APT_CONF_PATH.lstrip("/"))
        _make_target(target, False)
        _bind(apt_conf, target, sc.MS_BIND | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV, 0)
    if init_binary:
        target = os.path.join(ctx.root, INIT_PATH.lstrip("/"))
        _make_target(target, False)
        _bind(init_binary, target, sc.MS_BIND | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV, 0)


def enter_root(root: str) -> None:
    """pivot_root into `root` (a mount point) and detach the old root."""
    os.chdir(root)
    sc.pivot_root(".", ".")
    # The old root is now stacked under the new one at "/": detach it.
    sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)
    sc.umount2(".", sc.MNT_DETACH)
    os.chdir("/")


def mask_paths(paths) -> None:
    for path in paths or ():
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY, None)
        else:
            sc.mount("/dev/null", path, None, sc.MS_BIND)


def readonly_paths(paths) -> None:
    for path in paths or ():
        try:
            sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
        except FileNotFoundError:
            continue
        remount_bind(path, sc.MS_RDONLY)


def prepare(ctx: MountContext, spec: dict, apt_conf: str | None,
            init_binary: str | None = None) -> None:
    """Everything up to and including pivot_root; the caller then masks paths."""
    # Nothing we do may propagate back to the host.
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    overlay = (spec.get("annotations") or {}).get(ANNOTATION_OVERLAY)
    if overlay:
        mount_overlay(ctx.root, overlay)
    else:
        sc.mount(ctx.root, ctx.root, None, sc.MS_BIND | sc.MS_REC)
    for m in spec.get("mounts") or ():
        mount_one(ctx, m)
    setup_dev(ctx, (spec.get("linux") or {}).get("devices"), apt_conf, init_binary)
    enter_root(ctx.root)


def mount_overlay(target: str, description: str) -> None:
    """The container's root as an overlay of the image layers, mounted here because without
    root only a mount namespace owned by our user namespace may mount it (`userxattr`)."""
    import json
    o = json.loads(description)
    options = f"lowerdir={':'.join(o['lowerdir'])},upperdir={o['upperdir']},workdir={o['workdir']}"
    if o.get("userxattr"):
        options += ",userxattr"
    sc.mount("overlay", target, "overlay", 0, options)


def finish(spec: dict) -> None:
    """After pivot_root: Docker's masks and read-only paths, then a read-only root if asked."""
    linux = spec.get("linux") or {}
    for key, value in (linux.get("sysctl") or {}).items():
        # Namespaced sysctls only (net.*, kernel.msg*, ...): the kernel refuses the others.
        if "/" in key or ".." in key:
            raise OSError(22, f"invalid sysctl {key!r}")
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(str(value))
    readonly_paths(linux.get("readonlyPaths"))
    mask_paths(linux.get("maskedPaths"))
    if (spec.get("root") or {}).get("readonly"):
        remount_bind("/", sc.MS_RDONLY)
