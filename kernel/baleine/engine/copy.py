"""`docker cp`: files between a container and the host, or tar archives on stdin/stdout.

Container paths are resolved in the container's root through its overlay directories
(rootfs.MergedView); writes go through the layers package's safe extractor, so an archive
cannot write outside the root: into the upper directory of a stopped container, through
/proc/<pid>/root into a running one (which is frozen meanwhile).

Docker's rules (docs of `docker cp`): a file onto an existing directory goes inside it; a
directory onto an existing directory goes inside it, unless the source ends with "/." (then
its contents do); a missing destination is created with the source's content, if its
parent exists.
"""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile

from baleine.engine.changes import Owners, write_tar
from baleine.engine.containers import frozen
from baleine.engine.rootfs import MergedView, make_dirs
from baleine.errors import BaleineError, DaemonError


class CopyError(BaleineError):
    pass


def _not_found(path: str, label: str) -> DaemonError:
    return DaemonError(f"Could not find the file {path} in container {label}")


def _resolve(view: MergedView, path: str, label: str, follow: bool):
    try:
        parts, entry = view.resolve(path, follow=follow)
    except OSError:
        raise _not_found(path, label) from None
    return parts, entry


def read_archive(store, container, label: str, src: str, out, *, follow: bool = False) -> bool:
    """Write a tar of `src` (top member: its base name) to `out`; True if it is a directory."""
    view = MergedView.of(container)
    with frozen(container):
        follow = follow or src.endswith(("/", "/."))
        parts, entry = _resolve(view, src, label, follow)
        if entry is None:
            raise _not_found(src, label)
        name = parts[-1] if parts and not src.endswith("/.") else "."
        write_tar(view, Owners(store, container, view), parts, entry, out, name)
        return stat.S_ISDIR(entry.st.st_mode)


def copy_to_host(store, container, label: str, src: str, dest: str, *, follow: bool = False,
                 archive: bool = False) -> int:
    """`docker cp CONTAINER:SRC DEST`; returns the bytes copied."""
    with tempfile.TemporaryFile() as spool:
        is_dir = read_archive(store, container, label, src, spool, follow=follow)
        size = spool.tell()
        spool.seek(0)
        contents_only = src.endswith("/.") or not src.strip("/")  # "/." or the root itself
        if os.path.isdir(dest):
            target_dir, rename = dest, None
        elif os.path.lexists(dest):
            if is_dir:
                raise CopyError("cannot copy directory")
            target_dir, rename = os.path.dirname(dest) or ".", os.path.basename(dest)
        else:
            if dest.endswith("/") and not is_dir:
                raise CopyError(f'destination directory "{dest}" must exist')
            parent = os.path.dirname(dest.rstrip("/")) or "."
            if not os.path.isdir(parent):
                raise CopyError(f"lstat {os.path.abspath(parent)}: no such file or directory")
            target_dir, rename = parent, os.path.basename(dest.rstrip("/"))
            if contents_only:
                os.mkdir(dest)
                target_dir, rename = dest, None
        _extract_host(spool, target_dir, rename, archive)
        return size


def _extract_host(stream, target_dir: str, rename: str | None, archive: bool) -> None:
    uid, gid = os.geteuid(), os.getegid()
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = member.name
            top, _, rest = name.partition("/")
            if top == ".":
                name = rest
                if not name:
                    continue
            elif rename is not None:
                name = rename + ("/" + rest if rest else "")
            member.name = name
            if not archive:
                member.uid, member.gid = uid, gid
            member.uname = member.gname = ""
            if name.startswith("/") or ".." in name.split("/"):
                raise CopyError(f"invalid path in archive: {name}")
            # Names come from our own in-root walk: no entry sits below a symlink.
            tar.extract(member, target_dir, numeric_owner=True)


def copy_into(store, container, label: str, dest: str, source, *, archive: bool = False,
              src_name: str | None = None, src_is_dir: bool = False, contents_only: bool = False) -> int:
    """Extract the tar `source` into the container at `dest`; returns the bytes copied.

    source is a stream of a tar whose top member is named src_name (a host path being
    copied), or, when src_name is None, an archive to unpack into the directory dest."""
    from baleine.layers import apply_layer, is_real_root

    view = MergedView.of(container)
    with frozen(container):
        pid = container.state["Pid"]
        if pid:
            # Running: write through the container's own mount of its root, so the overlay
            # sees the change (files written into a mounted upper dir may stay invisible).
            view = MergedView([f"/proc/{pid}/root"])
        try:
            parts, entry = view.resolve(dest, follow=True)
        except OSError:
            raise _not_found(os.path.dirname(dest.rstrip("/")) or "/", label) from None
        rename = None
        if entry is not None and stat.S_ISDIR(entry.st.st_mode):
            target = parts
            if contents_only:
                rename = "."
        elif src_name is None:
            raise DaemonError("extraction point is not a directory")
        elif entry is not None:
            if src_is_dir:
                raise DaemonError("cannot copy directory")
            target, rename = parts[:-1], parts[-1]
        else:
            if dest.endswith("/") and not src_is_dir:
                raise _not_found(dest, label)
            target, rename = parts[:-1], parts[-1]
        make_dirs(view, "/".join(target))
        with tempfile.TemporaryFile() as spool:
            size = _retarget(source, spool, "/".join(target), rename, archive)
            spool.seek(0)
            rootless = not is_real_root()
            overlay = "overlay-userxattr" if rootless else "overlay"
            apply_layer(spool, view.layers[0], sidecar=False, exact_modes=not rootless,
                        whiteout_format="remove" if len(view.layers) == 1 else overlay)
        return size


def _retarget(source, out, prefix: str, rename: str | None, archive: bool) -> int:
    """Copy the tar `source` to `out` with names moved under `prefix` (first component
    replaced by `rename`, or dropped when rename is "."); owners 0:0 unless `archive`."""
    counted = _Counting(source)
    with tarfile.open(fileobj=counted, mode="r|*") as tin, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tout:
        for member in tin:
            member.name = _move(member.name, prefix, rename)
            if member.name is None:
                continue
            if member.islnk():
                member.linkname = _move(member.linkname, prefix, rename) or prefix
            if not archive:
                member.uid = member.gid = 0
                member.uname = member.gname = ""
            tout.addfile(member, tin.extractfile(member) if member.isreg() else None)
    return counted.count


def _move(name: str, prefix: str, rename: str | None) -> str | None:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if rename == ".":
        parts = parts[1:]
    elif rename is not None and parts:
        parts[0] = rename
    if not parts:
        return None  # the archive's "." entry: leave the destination directory as it is
    return "/".join([prefix, *parts] if prefix else parts)


class _Counting:
    def __init__(self, raw):
        self.raw, self.count = raw, 0

    def read(self, n=-1):
        data = self.raw.read(n)
        self.count += len(data)
        return data


def host_tar(src: str, out, *, follow: bool = False) -> bool:
    """Tar of a host path (top member: its base name); True if it is a directory."""
    path = os.path.realpath(src) if follow else src.rstrip("/") or "/"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise CopyError(f"lstat {os.path.abspath(src)}: no such file or directory") from None
    name = os.path.basename(os.path.abspath(src.rstrip("/"))) or "/"
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.add(path, arcname=name, recursive=True)
    return stat.S_ISDIR(st.st_mode)
