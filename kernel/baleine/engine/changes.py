"""`docker diff` and `docker export`, and the tar writer `docker cp` reads containers with.

Owners and modes come from where the truth is kept: the image layers' metadata sidecars
for files of the image, the disk for the container's own files (translated back to the
container's ids when a single-uid user namespace wrote them).
"""

from __future__ import annotations

import os
import stat
import tarfile

from baleine.engine.rootfs import Found, MergedView, is_opaque, is_whiteout
from baleine.errors import BaleineError


class Owners:
    """uid, gid and mode of a visible entry, as the container sees them.

    As root the disk is exact (layers are unpacked with their owners, chown works). Rootless,
    every file belongs to the user on disk: the sidecars say what the image meant, and the
    mode on disk wins only when it shows a real chmod (the rule of layers.diff)."""

    def __init__(self, store, container, view: MergedView):
        from baleine import snapshot
        self.rootless = os.geteuid() != 0
        self.metadata = {}
        if not self.rootless:
            return
        if is_copy(container):  # the vfs fallback keeps the sidecar of its own copy
            from baleine.layers import Metadata, sidecar_path
            self.metadata = Metadata.load(sidecar_path(view.layers[0]))
        else:
            try:
                self.metadata = snapshot.lower_metadata(store, store.lookup(container.record["Image"]))
            except BaleineError:  # the image was removed: the disk is all we have
                pass
        self.uid, self.gid = os.geteuid(), os.getegid()

    def of(self, rel: str, entry: Found) -> tuple[int, int, int]:
        st = entry.st
        disk = stat.S_IMODE(st.st_mode)
        if not self.rootless:
            return st.st_uid, st.st_gid, disk
        meta = self.metadata.get(rel)
        if meta is not None and _kind(st.st_mode) == meta.type:
            from baleine.layers.extract import disk_mode
            mode = meta.mode if disk in (meta.mode, disk_mode(meta.mode, meta.type)) else disk
            return meta.uid, meta.gid, mode
        return (0 if st.st_uid == self.uid else st.st_uid, 0 if st.st_gid == self.gid else st.st_gid, disk)


def is_copy(container) -> bool:
    """The vfs fallback (no overlayfs): the rootfs is a full copy, diffs walk and compare."""
    return container.record.get("Driver") == "vfs"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block")):
        if test(mode):
            return name
    return "other"


def write_tar(view: MergedView, owners: Owners, parts: list[str], entry: Found, out, name: str) -> None:
    """Tar of `entry` (at real path `parts`) and its contents, its top member named `name`
    ("" for the root of an export), with the owners the container sees."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for sub, child in view.walk(entry, parts):
            rel = "/".join(sub)
            member = "/".join([name, *sub[len(parts):]]) if name else "/".join(sub[len(parts):])
            if not member:
                continue  # the root of an export
            _add(tar, child, member, *owners.of(rel, child))


def _add(tar: tarfile.TarFile, entry: Found, member: str, uid: int, gid: int, mode: int | None) -> None:
    st = entry.st
    info = tarfile.TarInfo(member)
    info.uid, info.gid = uid, gid
    info.mode = stat.S_IMODE(st.st_mode) if mode is None else mode
    info.mtime = int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(entry.path)
        tar.addfile(info)
    elif stat.S_ISREG(st.st_mode):
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            info.size = os.fstat(fd).st_size
            tar.addfile(info, f)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
        tar.addfile(info)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tar.addfile(info)


def export(store, container, out) -> None:
    """The container's whole file system as one flat tar (`docker export`)."""
    view = MergedView.of(container)
    write_tar(view, Owners(store, container, view), [], view.root(), out, "")


def diff(container, store=None) -> list[tuple[str, str]]:
    """Docker's (kind, path) list, kind A/C/D, parents before their contents."""
    if is_copy(container):
        from baleine.store import open_store
        return [(kind, "/" + "/".join(parts)) for kind, parts, _ in copy_changes(store or open_store(), container)]
    view = MergedView.of(container)
    lower = MergedView(view.layers[1:])
    upper = view.layers[0]
    changes = []
    stack = [[]]
    while stack:
        parts = stack.pop()
        directory = os.path.join(upper, *parts)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        if parts and is_opaque(directory):
            changes += _hidden(lower, parts, set(names))
        for name in names:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            sub = parts + [name]
            text = "/" + "/".join(sub)
            if is_whiteout(path, st):
                changes.append(("D", text))
                continue
            try:
                _, existing = lower.resolve(text)
            except OSError:
                existing = None
            changes.append(("C" if existing is not None else "A", text))
            if stat.S_ISDIR(st.st_mode):
                stack.append(sub)
    return sorted(changes, key=lambda c: c[1].split("/"))


def _hidden(lower: MergedView, parts: list[str], kept: set[str]) -> list[tuple[str, str]]:
    """Lower entries an opaque directory hides (and that the upper did not recreate)."""
    try:
        real, entry = lower.resolve("/".join(parts))
    except OSError:
        return []
    if entry is None or not stat.S_ISDIR(entry.st.st_mode):
        return []
    return [("D", "/" + "/".join(parts + [name])) for name, _ in lower.listdir(entry, real) if name not in kept]


# -- the vfs fallback: walk the copy and compare it with the image's layers -----------------

def copy_changes(store, container) -> list[tuple[str, list[str], Found | None]]:
    """(kind, parts, entry in the copy) for every difference, parents first (Docker's naive
    diff: a file differs by type, size, mode, owner, mtime or link target)."""
    from baleine import snapshot
    image = store.lookup(container.record["Image"])
    lowers = [snapshot.ensure_layer(store, d, i) for d, i in zip(image.layers, image.diff_ids)]
    copy = MergedView.of(container)
    if not lowers:
        empty = os.path.join(container.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        lowers = [empty]
    lower = MergedView(list(reversed(lowers)))
    changes: list = []
    stack = [([], copy.root(), lower.root())]
    while stack:
        parts, mine, theirs = stack.pop()
        names = dict(copy.listdir(mine, parts))
        old = dict(lower.listdir(theirs, parts)) if theirs is not None else {}
        below = []
        for name in sorted(set(names) | set(old)):
            sub = parts + [name]
            new, was = names.get(name), old.get(name)
            if new is None:
                changes.append(("D", sub, None))
                continue
            if was is None:
                if snapshot.is_mount_point(sub):
                    continue
                changes.append(("A", sub, new))
            elif _differs(new, was):
                changes.append(("C", sub, new))
            if stat.S_ISDIR(new.st.st_mode):
                below.append((sub, new, was if was is not None and stat.S_ISDIR(was.st.st_mode) else None))
        stack.extend(reversed(below))
    return sorted(changes, key=lambda c: c[1])


def _differs(new: Found, old: Found) -> bool:
    a, b = new.st, old.st
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode) or stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode):
        return True
    if (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid) or int(a.st_mtime) != int(b.st_mtime):
        return True
    if stat.S_ISLNK(a.st_mode):
        return os.readlink(new.path) != os.readlink(old.path)
    return not stat.S_ISDIR(a.st_mode) and a.st_size != b.st_size


def synthetic_upper(store, container, target: str) -> None:
    """Lay the copy's changes out in `target` as an overlayfs upper dir would hold them
    (hard links to the changed files, 0/0 character devices for deletions), so commit
    writes the layer with the same code as on overlayfs. `target` is on the copy's file
    system."""
    copy_root = MergedView.of(container).layers[0]
    dirs = []
    for kind, parts, entry in copy_changes(store, container):
        for i in range(1, len(parts)):  # parents, as the copy has them
            path = os.path.join(target, *parts[:i])
            if not os.path.isdir(path):
                source = os.lstat(os.path.join(copy_root, *parts[:i]))
                os.mkdir(path, 0o700)
                dirs.append((path, source))
        path = os.path.join(target, *parts)
        if kind == "D":
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
        elif stat.S_ISDIR(entry.st.st_mode):
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
                dirs.append((path, entry.st))
        else:
            os.link(entry.path, path, follow_symlinks=False)
    for path, source in reversed(dirs):  # modes and times last: adding entries changes mtimes
        os.chmod(path, stat.S_IMODE(source.st_mode))
        if os.geteuid() == 0:
            os.lchown(path, source.st_uid, source.st_gid)
        os.utime(path, ns=(source.st_atime_ns, source.st_mtime_ns), follow_symlinks=False)
