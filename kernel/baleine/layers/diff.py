"""Write a layer tar from a directory: an overlayfs upper dir, or a plain tree.

The output is what Docker's go-archive writes (PAX format when needed, otherwise plain
ustar; names relative, no "./", directories with a trailing "/"; mtimes truncated to the
second; no uname/gname/atime/ctime), walked depth-first in byte order of names with each
directory before its contents. Regular files seen twice by (st_dev, st_ino) become tar hard
links to the first name.

Owners and modes: for each path, in this order of preference,
  1. `owners[path]` = (uid, gid, mode or None): ownership changes recorded during the
     container's life (chown/chmod quashed in a single-uid user namespace);
  2. `metadata[path]` (a sidecar, or a ChainMap of the lower layers' sidecars), when it
     describes the same file type: its uid/gid/xattrs, and its mode unless the mode on
     disk shows a real chmod (it matches neither the intended mode nor its disk form);
  3. lstat, with `uid_map` / `gid_map` translating on-disk ids (e.g. {1000: 0} when a
     single-uid user namespace's files are read from outside it), and the
     security.capability xattr, the only one Docker copies from disk.

Overlay uppers (overlay=True): a 0/0 character device, or an empty file with an
`overlay.whiteout` xattr, becomes `.wh.<name>` (regular, empty, mode 0600, the device's
owner); a directory whose `trusted.overlay.opaque` or `user.overlay.opaque` is "y" is
followed by `<dir>/.wh..wh..opq` (its owner, its permission bits), as moby does. Uppers
made with redirect_dir or metacopy cannot be diffed on their own and are refused.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO, Mapping

from . import walk
from .errors import LayerError
from .extract import WHITEOUT_OPAQUE, WHITEOUT_PREFIX, disk_mode, normalise_name
from .metadata import Entry

Owner = tuple[int, int, "int | None"]  # (uid, gid, mode or None to keep it)

_CHUNK = 1 << 20


@dataclass
class DiffResult:
    """The layer that was written."""

    diff_id: str    # "sha256:<hex>" of the uncompressed tar
    size: int       # its length in bytes
    entries: int    # tar members written (whiteouts included)


def diff_overlay_upper(upper: str | os.PathLike, out: BinaryIO, **options) -> DiffResult:
    """Layer tar of the changes an overlayfs upper directory holds (docker commit, RUN).

    Options: metadata, owners, mtime_clamp, uid_map, gid_map (see write_layer).
    """
    return write_layer(upper, out, overlay=True, **options)


def diff_tree(root: str | os.PathLike, out: BinaryIO, *, prefix: str = "", **options) -> DiffResult:
    """Layer tar of a whole tree placed at `prefix` in the layer (build COPY steps).

    `root` may also be a single file, then named `prefix`. Parent directories of `prefix`
    are written as 0755 root:root directories.
    """
    return write_layer(root, out, overlay=False, prefix=prefix, **options)


def write_layer(source: str | os.PathLike, out: BinaryIO, *, overlay: bool, prefix: str = "",
                metadata: Mapping[str, Entry] | None = None,
                owners: Mapping[str, Owner] | None = None,
                mtime_clamp: int | None = None,
                uid_map: Mapping[int, int] | None = None,
                gid_map: Mapping[int, int] | None = None) -> DiffResult:
    """Write the layer tar of `source` to `out`, returning its diff_id and size.

    metadata: path -> Entry, paths relative to source (sidecar format, metadata.py).
    owners: path -> (uid, gid, mode or None); keys relative to source ("/etc/x" accepted).
    mtime_clamp: no timestamp later than this (SOURCE_DATE_EPOCH reproducibility).
    """
    hashing = _HashingWriter(out)
    writer = _LayerWriter(hashing, overlay=overlay, metadata=metadata or {},
                          owners={normalise_name(k): v for k, v in (owners or {}).items()},
                          mtime_clamp=mtime_clamp, uid_map=uid_map or {}, gid_map=gid_map or {})
    try:
        writer.write(source, normalise_name(prefix))
    except OSError as e:
        raise LayerError(f"{e.filename or source}: {e.strerror}") from None
    finally:
        writer.close()
    return DiffResult("sha256:" + hashing.sha256.hexdigest(), hashing.size, writer.count)


class _HashingWriter:
    def __init__(self, out: BinaryIO):
        self._out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self._out.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode):
        return "char"
    if stat.S_ISBLK(mode):
        return "block"
    return None  # sockets: Docker leaves them out


_TAR_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
              "fifo": tarfile.FIFOTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE}


class _LayerWriter:
    def __init__(self, out: _HashingWriter, *, overlay, metadata, owners, mtime_clamp, uid_map, gid_map):
        self.tf = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
        self.tf.copybufsize = _CHUNK
        self.overlay = overlay
        self.metadata = metadata
        self.owners = owners
        self.mtime_clamp = mtime_clamp
        self.uid_map = uid_map
        self.gid_map = gid_map
        self.count = 0
        self.inodes: dict[tuple[int, int], str] = {}   # (st_dev, st_ino) -> first tar name
        self.files: dict[str, str] = {}                # source path -> tar name, regular files
        self.root_fd: int | None = None
        # Device nodes the extractor could not create exist only in the sidecar; a tree
        # diff (export, COPY) still writes them. An upper's metadata is its lowers', so not there.
        self.skipped: dict[str, dict[str, Entry]] = {}
        if not overlay:
            for path, entry in metadata.items():
                if entry.skipped:
                    parent, _, name = path.rpartition("/")
                    self.skipped.setdefault(parent, {})[name] = entry

    def close(self):
        self.tf.close()
        if self.root_fd is not None:
            os.close(self.root_fd)

    # -- walking -------------------------------------------------------------------------

    def write(self, source, prefix: str):
        st = os.stat(source, follow_symlinks=False)
        parts = walk.split(prefix)
        for i in range(len(parts) - 1):
            self._add(self._info("/".join(parts[: i + 1]), "dir", 0, 0, 0o755, st.st_mtime_ns))
        if not stat.S_ISDIR(st.st_mode):
            if not parts:
                raise LayerError(f"{source}: a single file needs a prefix to be named by")
            parent, name = os.path.split(os.path.abspath(source))
            self.root_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self._entry(self.root_fd, name, st, "", prefix)
            return
        self.root_fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if parts:
            self._emit_dir(self.root_fd, "", st, prefix)
        self._walk(prefix)

    def _walk(self, prefix: str):
        top = os.dup(self.root_fd)
        stack = [(top, iter(self._names(top, "")), "")]
        try:
            while stack:
                fd, names, rel = stack[-1]
                name = next(names, None)
                if name is None:
                    os.close(fd)
                    stack.pop()
                    continue
                path = f"{rel}/{name}" if rel else name
                tar_name = f"{prefix}/{path}" if prefix else path
                st = walk.lstat_at(fd, name)
                if st is None:
                    skipped = self.skipped.get(rel, {}).get(name)
                    if skipped is not None:
                        self._skipped_device(tar_name, skipped)
                    continue
                if stat.S_ISDIR(st.st_mode):
                    child = walk.open_listable(fd, name)
                    try:
                        self._emit_dir(child, path, st, tar_name)
                    except BaseException:
                        os.close(child)
                        raise
                    stack.append((child, iter(self._names(child, path)), path))
                else:
                    self._entry(fd, name, st, path, tar_name)
        finally:
            for fd, _, _ in stack:
                os.close(fd)

    def _names(self, dir_fd: int, path: str) -> list[str]:
        names = set(os.listdir(dir_fd)) | set(self.skipped.get(path, ()))
        return sorted(names, key=os.fsencode)  # byte order, like Go's filepath.Walk

    # -- entries -------------------------------------------------------------------------

    def _skipped_device(self, tar_name: str, entry: Entry):
        info = self._info(tar_name, entry.type, entry.uid, entry.gid, entry.mode,
                          int(entry.mtime * 1_000_000_000), entry.xattrs)
        info.devmajor, info.devminor = entry.devmajor, entry.devminor
        self._add(info)

    def _emit_dir(self, dir_fd: int, path: str, st, tar_name: str):
        xattrs = _xattrs(dir_fd)
        uid, gid, mode, keep = self._intended(path, st, "dir", xattrs)
        self._add(self._info(tar_name, "dir", uid, gid, mode, st.st_mtime_ns, keep))
        if self.overlay and path:
            if xattrs.get("trusted.overlay.redirect") or xattrs.get("user.overlay.redirect"):
                raise LayerError(f"{path}: overlay redirect_dir is not supported; mount with redirect_dir=off")
            if b"y" in (xattrs.get("trusted.overlay.opaque"), xattrs.get("user.overlay.opaque")):
                self._add(self._info(f"{tar_name}/{WHITEOUT_OPAQUE}", "file", uid, gid, mode & 0o777,
                                     st.st_mtime_ns))

    def _entry(self, dir_fd: int, name: str, st, path: str, tar_name: str):
        kind = _kind(st.st_mode)
        if kind is None:
            return
        base = tar_name.rsplit("/", 1)[-1]
        if base.startswith(WHITEOUT_PREFIX):
            raise LayerError(f"{tar_name}: names starting with {WHITEOUT_PREFIX} cannot be stored in a layer")
        parent_name = tar_name[: -len(base)]
        if self.overlay and kind == "char" and st.st_rdev == 0:
            return self._whiteout(parent_name + WHITEOUT_PREFIX + base, st)
        if kind != "file":
            uid, gid, mode, xattrs = self._intended(path, st, kind, {})
            info = self._info(tar_name, kind, uid, gid, mode, st.st_mtime_ns, xattrs)
            if kind == "symlink":
                info.linkname = os.readlink(name, dir_fd=dir_fd)
            elif kind in ("char", "block"):
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            return self._add(info)

        fd = _open_readable(dir_fd, name)
        try:
            disk_xattrs = _xattrs(fd)
            if self.overlay:
                if st.st_size == 0 and (disk_xattrs.keys() & {"trusted.overlay.whiteout", "user.overlay.whiteout"}):
                    return self._whiteout(parent_name + WHITEOUT_PREFIX + base, st)
                if disk_xattrs.keys() & {"trusted.overlay.metacopy", "user.overlay.metacopy"}:
                    raise LayerError(f"{path}: overlay metacopy is not supported; mount with metacopy=off")
            uid, gid, mode, xattrs = self._intended(path, st, "file", disk_xattrs)
            info = self._info(tar_name, "file", uid, gid, mode, st.st_mtime_ns, xattrs)
            link = self._hardlink_target(st, path, fd)
            if link is not None:
                info.type, info.linkname = tarfile.LNKTYPE, link
                return self._add(info)
            self.files[path] = tar_name
            if st.st_nlink > 1:
                self.inodes[(st.st_dev, st.st_ino)] = tar_name
            info.size = st.st_size
            with os.fdopen(os.dup(fd), "rb") as data:
                self._add(info, data)
        finally:
            os.close(fd)

    def _whiteout(self, tar_name: str, st):
        uid = self.uid_map.get(st.st_uid, st.st_uid)
        gid = self.gid_map.get(st.st_gid, st.st_gid)
        self._add(self._info(tar_name, "file", uid, gid, 0o600, st.st_mtime_ns))

    def _hardlink_target(self, st, path: str, fd: int) -> str | None:
        if st.st_nlink > 1 and (st.st_dev, st.st_ino) in self.inodes:
            return self.inodes[(st.st_dev, st.st_ino)]
        # A link the extractor had to copy (EPERM) is still a link if nothing changed it.
        meta = self.metadata.get(path)
        if meta is not None and meta.link and meta.link in self.files:
            if _same_content(self.root_fd, meta.link, fd, st.st_size):
                return self.files[meta.link]
        return None

    def _intended(self, path: str, st, kind: str, disk_xattrs: dict[str, bytes]):
        """(uid, gid, mode, xattrs) the tar header should carry for this path."""
        perm = st.st_mode & 0o7777
        meta = self.metadata.get(path)
        if meta is not None and meta.type == kind:
            uid, gid = meta.uid, meta.gid
            intended = meta.mode & 0o7777
            # A chmod since extraction shows as a mode that is neither; symlinks have none.
            mode = intended if kind == "symlink" or perm in (intended, disk_mode(intended, kind)) else perm
            xattrs = dict(meta.xattrs)
        else:
            uid = self.uid_map.get(st.st_uid, st.st_uid)
            gid = self.gid_map.get(st.st_gid, st.st_gid)
            mode = perm
            cap = disk_xattrs.get("security.capability")
            xattrs = {"security.capability": cap} if cap else {}
        owner = self.owners.get(path)
        if owner is not None:
            uid, gid = owner[0], owner[1]
            if len(owner) > 2 and owner[2] is not None:
                mode = owner[2] & 0o7777
        return uid, gid, mode, xattrs

    def _info(self, name: str, kind: str, uid: int, gid: int, mode: int, mtime_ns: int,
              xattrs: dict[str, bytes] | None = None) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = _TAR_TYPES[kind]
        info.uid, info.gid, info.mode = uid, gid, mode
        mtime = mtime_ns // 1_000_000_000  # truncated to the second, as Docker does
        if self.mtime_clamp is not None and mtime > self.mtime_clamp:
            mtime = self.mtime_clamp
        info.mtime = mtime
        info.uname = info.gname = ""
        if xattrs:
            info.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape")
                                for k, v in sorted(xattrs.items())}
        return info

    def _add(self, info: tarfile.TarInfo, data: BinaryIO | None = None):
        self.tf.addfile(info, data)
        self.count += 1


def _open_readable(dir_fd: int, name: str) -> int:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:
        # Mode 000 files left by a container are still ours: add u+r to read them.
        path_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            mode = os.stat(path_fd).st_mode & 0o7777
            walk.chmod_fd(path_fd, mode | 0o400)
            try:
                return os.open(name, flags, dir_fd=dir_fd)
            finally:
                walk.chmod_fd(path_fd, mode)
        finally:
            os.close(path_fd)


def _xattrs(fd: int) -> dict[str, bytes]:
    """The xattrs that matter here, read through an open file or directory fd."""
    try:
        names = os.listxattr(fd)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM, errno.EACCES):
            return {}
        raise
    out = {}
    for name in names:
        if name == "security.capability" or ".overlay." in name:
            try:
                out[name] = os.getxattr(fd, name)
            except OSError:
                pass
    return out


def _same_content(root_fd: int, other: str, fd: int, size: int) -> bool:
    parts = walk.split(other)
    try:
        parent = walk.open_dir(root_fd, parts[:-1])
    except OSError:
        return False
    try:
        ofd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except OSError:
        return False
    finally:
        os.close(parent)
    try:
        if os.fstat(ofd).st_size != size:
            return False
        offset = 0
        while True:
            a, b = os.pread(fd, _CHUNK, offset), os.pread(ofd, _CHUNK, offset)
            if a != b:
                return False
            if not a:
                return True
            offset += len(a)
    finally:
        os.close(ofd)
