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


class Owners:
    """uid, gid and mode of a visible entry, as the container sees them."""

    def __init__(self, store, container, view: MergedView):
        from baleine import snapshot
        try:
            image = store.lookup(container.record["Image"])
            self.metadata = snapshot.lower_metadata(store, image)
        except Exception:  # the image was removed: the disk is all we have
            self.metadata = {}
        self.image_layers = len(view.layers) - 1 - (1 if os.path.basename(view.layers[1]) == "init" else 0)
        self.first_image_layer = len(view.layers) - self.image_layers
        rootless = os.geteuid() != 0
        self.uid_map = {os.geteuid(): 0} if rootless else {}
        self.gid_map = {os.getegid(): 0} if rootless else {}

    def of(self, rel: str, entry: Found) -> tuple[int, int, int]:
        st = entry.st
        if entry.index >= self.first_image_layer:
            meta = self.metadata.get(rel)
            if meta is not None and _kind(st.st_mode) == meta.type:
                return meta.uid, meta.gid, meta.mode
        return (self.uid_map.get(st.st_uid, st.st_uid), self.gid_map.get(st.st_gid, st.st_gid),
                stat.S_IMODE(st.st_mode))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block")):
        if test(mode):
            return name
    return "other"


def write_tar(view: MergedView, owners: Owners, parts: list[str], entry: Found, out,
              name: str, *, archive_owners: bool = True, dereference: bool = False) -> None:
    """Tar of `entry` (at real path `parts`) and its contents, its top member named `name`.

    archive_owners=False writes uid/gid 0 (what `docker cp` without -a gives the host side
    does not matter: the extractor picks owners)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for sub, child in view.walk(entry, parts):
            rel = "/".join(sub)
            member = "/".join([name, *sub[len(parts):]]) if name else "/".join(sub[len(parts):])
            if not member:
                continue  # the root of an export
            if dereference and sub == parts and stat.S_ISLNK(child.st.st_mode):
                continue  # handled by the caller resolving with follow=True
            _add(tar, child, member, *(owners.of(rel, child) if archive_owners else (0, 0, None)))


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


def diff(container) -> list[tuple[str, str]]:
    """Docker's (kind, path) list, kind A/C/D, parents before their contents."""
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
