"""Apply one layer tar stream onto a root directory, safely (security.md 8.A).

`tarfile` is used only as a streaming parser (`mode="r|"`); every entry is created by this
module through the in-root walker of `walk.py`:

- names are normalised (leading "/" and "./" stripped, "." components dropped) and refused
  when they hold NUL, a ".." component, or exceed PATH_MAX;
- parents are opened from the root fd, symlinks in parent position resolved in-root
  (openat2 RESOLVE_IN_ROOT, or its emulation), missing parents created 0755;
- the final component is never followed: an existing entry is removed (a directory is kept
  when the new entry is a directory too, as Docker does) and the new one made with *at()
  calls relative to its parent fd;
- hard links must name a regular file already in the root, found by the same walker;
  EPERM/EXDEV from linkat falls back to a copy; a link to a symlink becomes an independent
  symlink with the same text (never followed); anything else is refused;
- whiteouts `.wh.<name>` remove `<name>` from lower layers, `.wh..wh..opq` empties a
  directory of everything this layer did not itself write (so it applies before the
  layer's own children whatever the tar order); other `.wh..wh.*` names (aufs metadata)
  are ignored. With `whiteout_format="overlay"` they become overlayfs whiteouts instead
  (0/0 character devices, opaque xattr) for a per-layer lowerdir;
- device nodes are created only when mknod is allowed, otherwise skipped and recorded;
- on disk, modes get u+rw (u+x for directories and executables) and lose setuid/setgid,
  unless exact_modes=True; the intended uid, gid, mode, xattrs, device numbers and mtime
  go to the metadata sidecar (metadata.py). Real owners are applied with lchown only when
  running as real root (not inside a user namespace).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tarfile
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from . import walk
from .compression import open_decompressed
from .errors import LayerError
from .metadata import Entry, Metadata, sidecar_path

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
PATH_MAX = 4096

DEFAULT_MAX_ENTRIES = 2_000_000
DEFAULT_MAX_BYTES = 64 << 30        # file contents, uncompressed
MAX_HEADER_BYTES = 16 << 20         # one pax or GNU long-name header

_CHUNK = 1 << 20
_OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


@dataclass
class ApplyResult:
    """What apply_layer did."""

    diff_id: str                     # "sha256:<hex>" of the uncompressed tar as read
    size: int                        # bytes of the uncompressed tar
    entries: int                     # tar members processed
    content_bytes: int               # bytes of file contents written
    metadata: Metadata
    skipped_devices: list[str] = field(default_factory=list)
    copied_hardlinks: list[str] = field(default_factory=list)


class _HashingReader:
    """Read-through that hashes and counts what it hands out."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuse huge pax / GNU long-name headers before tarfile reads them into memory."""

    def _proc_pax(self, tarfile):
        self._check_header_size()
        return super()._proc_pax(tarfile)

    def _proc_gnulong(self, tarfile):
        self._check_header_size()
        return super()._proc_gnulong(tarfile)

    def _check_header_size(self):
        if self.size > MAX_HEADER_BYTES:
            raise LayerError(f"tar header of {self.size} bytes is too large (limit {MAX_HEADER_BYTES})")


def normalise_name(name: str) -> str:
    """The member name as a clean relative path ('' for the root); LayerError if unsafe."""
    if "\0" in name:
        raise LayerError(f"{name!r}: NUL byte in name")
    if len(os.fsencode(name)) > PATH_MAX:
        raise LayerError(f"{name[:80]}...: name longer than PATH_MAX")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerError(f"{name}: '..' in path")
    return "/".join(parts)


def is_real_root() -> bool:
    """uid 0 in the initial user namespace (so chown and mknod really work)."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def disk_mode(mode: int, kind: str) -> int:
    """The mode put on disk for intended `mode`: u+rw(X), no setuid/setgid, sticky kept."""
    m = (mode & 0o1777) | 0o600
    if kind == "dir" or mode & 0o111:
        m |= 0o100
    return m


def apply_layer(stream: BinaryIO, root: str | os.PathLike, *,
                metadata: Metadata | None = None,
                sidecar: str | os.PathLike | None | bool = True,
                whiteout_format: str = "remove",
                exact_modes: bool = False,
                max_entries: int = DEFAULT_MAX_ENTRIES,
                max_bytes: int = DEFAULT_MAX_BYTES,
                expected_diff_id: str | None = None) -> ApplyResult:
    """Apply the uncompressed layer tar `stream` onto the existing directory `root`.

    metadata: the tree's sidecar to update; by default loaded from `sidecar`.
    sidecar: True for `<root>.meta.json` (sidecar_path), a path, or False/None to not
      read or write one.
    whiteout_format: "remove" applies whiteouts to what is already under root (a flattened
      rootfs); "overlay" / "overlay-userxattr" writes overlayfs whiteouts and opaque
      markers (trusted.* or user.* xattr) so root can serve as an overlay lowerdir.
    exact_modes: put the tar modes on disk unchanged (setuid included); meant for real
      root, whose store is not reachable by other users.
    max_entries / max_bytes: decompression-bomb limits (members, bytes of file contents).
    expected_diff_id: "sha256:..." the uncompressed stream must hash to (checked at the end).

    On LayerError the root is left half-written and the sidecar is not saved: unpack into
    a fresh temporary directory and rename it (with its sidecar) once this returns.
    """
    if whiteout_format not in ("remove", "overlay", "overlay-userxattr"):
        raise ValueError(f"unknown whiteout_format {whiteout_format!r}")
    if sidecar is True:
        sidecar = sidecar_path(root)
    if metadata is None:
        metadata = Metadata.load(sidecar) if sidecar else Metadata()
    reader = _HashingReader(stream)
    applier = _Applier(root, metadata, whiteout_format, exact_modes, max_entries, max_bytes)
    try:
        applier.run(reader)
    finally:
        applier.close()
    reader.drain()  # the digest covers the end-of-archive padding too
    diff_id = "sha256:" + reader.sha256.hexdigest()
    if expected_diff_id and diff_id != expected_diff_id:
        raise LayerError(f"layer diff_id mismatch: expected {expected_diff_id}, got {diff_id}")
    if sidecar:
        metadata.save(sidecar)
    return ApplyResult(diff_id=diff_id, size=reader.size, entries=applier.count,
                       content_bytes=applier.content_bytes, metadata=metadata,
                       skipped_devices=applier.skipped_devices,
                       copied_hardlinks=applier.copied_hardlinks)


def apply_blob(blob: BinaryIO, root: str | os.PathLike, *, expected_digest: str | None = None,
               **options) -> ApplyResult:
    """Apply a possibly compressed layer blob, checking its digest as it streams by.

    Same options as apply_layer (expected_diff_id included).
    """
    hashed = _HashingReader(blob)
    plain, _ = open_decompressed(hashed)
    result = apply_layer(plain, root, **options)
    hashed.drain()
    digest = "sha256:" + hashed.sha256.hexdigest()
    if expected_digest and digest != expected_digest:
        raise LayerError(f"layer digest mismatch: expected {expected_digest}, got {digest}")
    return result


class _Applier:
    def __init__(self, root, metadata: Metadata, whiteout_format: str, exact_modes: bool,
                 max_entries: int, max_bytes: int):
        self.root_fd = walk.open_root(root)
        self.metadata = metadata
        self.overlay = whiteout_format != "remove"
        self.opaque_xattr = ("user" if whiteout_format == "overlay-userxattr" else "trusted") + ".overlay.opaque"
        self.exact_modes = exact_modes
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.real_root = is_real_root()
        self.count = 0
        self.content_bytes = 0
        self.touched: set[str] = set()          # paths this layer wrote
        self.dir_times: list[tuple[str, float]] = []
        self.skipped_devices: list[str] = []
        self.copied_hardlinks: list[str] = []

    def close(self):
        os.close(self.root_fd)

    def run(self, reader: _HashingReader):
        try:
            tf = tarfile.open(fileobj=reader, mode="r|", tarinfo=_BoundedTarInfo)
        except tarfile.ReadError as e:
            if reader.size == 0:
                return  # an empty stream is an empty layer
            raise LayerError(f"not a tar archive: {e}") from None
        while True:
            try:
                member = tf.next()
            except tarfile.TarError as e:
                raise LayerError(f"invalid tar after {self.count} entries: {e}") from None
            if member is None:
                break
            tf.members.clear()  # streaming: keep memory flat
            self.count += 1
            if self.count > self.max_entries:
                raise LayerError(f"{member.name}: more than {self.max_entries} entries in layer")
            try:
                self._apply(tf, member)
            except LayerError:
                raise
            except (OSError, tarfile.TarError, ValueError, OverflowError) as e:
                reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                raise LayerError(f"{member.name}: {reason}") from None
        self._set_dir_times()

    # -- one member ------------------------------------------------------------------

    def _apply(self, tf: tarfile.TarFile, m: tarfile.TarInfo):
        path = normalise_name(m.name)
        parts = walk.split(path)
        if not parts:
            if m.isdir():
                return  # the root itself: Docker skips it too
            raise LayerError(f"{m.name}: empty name for a non-directory")
        if any(p.startswith(WHITEOUT_META_PREFIX) and p != WHITEOUT_OPAQUE for p in parts):
            return  # aufs bookkeeping (.wh..wh.plnk ...), never part of the rootfs
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            return self._whiteout(m, parts)

        if m.isreg() and self.content_bytes + m.size > self.max_bytes:
            raise LayerError(f"{m.name}: layer contents exceed {self.max_bytes} bytes")
        parent, real = walk.resolve_dir(self.root_fd, parts[:-1], create=True, on_create=self._implicit_dir)
        # Metadata is keyed by where the entry really lands (a parent may be an in-root symlink).
        path = "/".join(real + [base])
        try:
            existing = walk.lstat_at(parent, base)
            if existing is not None and not (stat.S_ISDIR(existing.st_mode) and m.isdir()):
                walk.remove_entry(parent, base)
                self.metadata.remove(path, is_dir=stat.S_ISDIR(existing.st_mode))
                existing = None
            entry = self._entry(m)
            if m.isdir():
                self._make_dir(parent, base, entry, existing is None)
                self.dir_times.append((path, m.mtime))
            elif m.islnk():
                self._make_hardlink(parent, base, path, m, entry)
            elif m.isreg():
                self._make_file(parent, base, entry, tf.extractfile(m), m.size)
                self.content_bytes += m.size
            elif m.issym():
                os.symlink(m.linkname, base, dir_fd=parent)
                self._finish_path(parent, base, entry)
            elif m.isfifo():
                os.mkfifo(base, 0o600, dir_fd=parent)
                self._finish_path(parent, base, entry)
            elif m.ischr() or m.isblk():
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                try:
                    os.mknod(base, 0o600 | kind, os.makedev(m.devmajor, m.devminor), dir_fd=parent)
                except PermissionError:
                    entry.skipped = True
                    self.skipped_devices.append(path)
                else:
                    self._finish_path(parent, base, entry)
            else:
                raise LayerError(f"{m.name}: unsupported tar entry type {m.type!r}")
        finally:
            os.close(parent)
        self.metadata.set(path, entry)
        self.touched.add(path)

    def _entry(self, m: tarfile.TarInfo) -> Entry:
        if m.isdir():
            kind = "dir"
        elif m.issym():
            kind = "symlink"
        elif m.isfifo():
            kind = "fifo"
        elif m.ischr():
            kind = "char"
        elif m.isblk():
            kind = "block"
        else:
            kind = "file"
        xattrs = {}
        for key, value in m.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                name = key[len("SCHILY.xattr."):]
                if not name.startswith(_OVERLAY_XATTR_PREFIXES):  # meaningless in a layer
                    xattrs[name] = value.encode("utf-8", "surrogateescape")
        return Entry(type=kind, uid=m.uid, gid=m.gid, mode=m.mode & 0o7777, mtime=m.mtime,
                     xattrs=xattrs, devmajor=m.devmajor if kind in ("char", "block") else 0,
                     devminor=m.devminor if kind in ("char", "block") else 0)

    def _implicit_dir(self, parts: list[str]):
        # A parent the tar did not list: Docker makes it 0755 root:root.
        path = "/".join(parts)
        self.metadata.set(path, Entry(type="dir", uid=0, gid=0, mode=0o755, mtime=int(time.time())))
        if self.real_root:
            os.chown(path, 0, 0, dir_fd=self.root_fd, follow_symlinks=False)

    def _mode_on_disk(self, entry: Entry) -> int:
        return entry.mode if self.exact_modes else disk_mode(entry.mode, entry.type)

    def _make_dir(self, parent: int, base: str, entry: Entry, create: bool):
        if create:
            os.mkdir(base, 0o700, dir_fd=parent)
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            self._finish_fd(fd, entry)
        finally:
            os.close(fd)

    def _make_file(self, parent: int, base: str, entry: Entry, data: BinaryIO, size: int):
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=parent)
        try:
            with os.fdopen(os.dup(fd), "wb", closefd=True) as out:
                while chunk := data.read(_CHUNK):
                    out.write(chunk)
            self._finish_fd(fd, entry)
            os.utime(fd, times=(entry.mtime, entry.mtime))
        finally:
            os.close(fd)

    def _finish_fd(self, fd: int, entry: Entry):
        """Owner, mode and xattrs through an fd (regular files and directories)."""
        if self.real_root:
            os.chown(fd, entry.uid, entry.gid)  # before chmod: chown clears setuid
        os.chmod(fd, self._mode_on_disk(entry))
        for name, value in entry.xattrs.items():
            if self.real_root or name.startswith("user."):
                try:
                    os.setxattr(fd, name, value)
                except OSError as e:
                    if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EINVAL, errno.EACCES):
                        raise

    def _finish_path(self, parent: int, base: str, entry: Entry):
        """Owner, mode and mtime of a symlink, fifo or device node, never following it."""
        if self.real_root:
            os.chown(base, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
        if entry.type != "symlink":
            fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            try:
                walk.chmod_fd(fd, self._mode_on_disk(entry))
            finally:
                os.close(fd)
        os.utime(base, times=(entry.mtime, entry.mtime), dir_fd=parent, follow_symlinks=False)

    def _make_hardlink(self, parent: int, base: str, path: str, m: tarfile.TarInfo, entry: Entry):
        target = normalise_name(m.linkname)
        tparts = walk.split(target)
        if not tparts:
            raise LayerError(f"{m.name}: hard link to the root")
        try:
            tparent, treal = walk.resolve_dir(self.root_fd, tparts[:-1])
        except (FileNotFoundError, NotADirectoryError):
            raise LayerError(f"{m.name}: hard link target {m.linkname} does not exist") from None
        target = "/".join(treal + [tparts[-1]])
        try:
            st = walk.lstat_at(tparent, tparts[-1])
            if st is None:
                raise LayerError(f"{m.name}: hard link target {m.linkname} does not exist")
            known = self.metadata.get(target)
            if stat.S_ISLNK(st.st_mode):
                # Never link to a symlink: make an equal symlink, which is not followed either.
                os.symlink(os.readlink(tparts[-1], dir_fd=tparent), base, dir_fd=parent)
                entry.type = "symlink"
                if known:
                    entry.uid, entry.gid = known.uid, known.gid
                self._finish_path(parent, base, entry)
                entry.link = target
                self.copied_hardlinks.append(path)
                return
            if not stat.S_ISREG(st.st_mode):
                raise LayerError(f"{m.name}: hard link target {m.linkname} is not a regular file")
            if known is not None and known.type == "file":
                # The inode is shared: its intended attributes are the target's.
                entry.uid, entry.gid, entry.mode, entry.xattrs = known.uid, known.gid, known.mode, dict(known.xattrs)
                entry.mtime = known.mtime
            entry.type = "file"
            entry.link = known.link if known is not None and known.link else target
            try:
                os.link(tparts[-1], base, src_dir_fd=tparent, dst_dir_fd=parent, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK):
                    raise
                # protected_hardlinks (umoci#310): copy, and remember it was a link.
                src = os.open(tparts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=tparent)
                with os.fdopen(src, "rb") as data:
                    self._make_file(parent, base, entry, data, st.st_size)
                self.copied_hardlinks.append(path)
        finally:
            os.close(tparent)

    # -- whiteouts -------------------------------------------------------------------

    def _whiteout(self, m: tarfile.TarInfo, parts: list[str]):
        base = parts[-1]
        dir_parts = parts[:-1]
        if base == WHITEOUT_OPAQUE:
            fd, real = walk.resolve_dir(self.root_fd, dir_parts, create=True, on_create=self._implicit_dir)
            dir_path = "/".join(real)
            try:
                if self.overlay:
                    xfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
                    try:
                        os.setxattr(xfd, self.opaque_xattr, b"y")
                    finally:
                        os.close(xfd)
                self._prune(fd, dir_path)
            finally:
                os.close(fd)
            self.metadata.prune(dir_path, keep=self.touched)
            return
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", ".."):
            raise LayerError(f"{m.name}: invalid whiteout")
        try:
            fd, real = walk.resolve_dir(self.root_fd, dir_parts, create=self.overlay,
                                        on_create=self._implicit_dir)
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing there to hide
        try:
            path = "/".join(real + [name])
            if path in self.touched:
                return  # a whiteout hides lower layers only, never this layer's own entry
            removed = walk.remove_entry(fd, name)
            if self.overlay:
                os.mknod(name, 0o600 | stat.S_IFCHR, os.makedev(0, 0), dir_fd=fd)
        finally:
            os.close(fd)
        self.metadata.remove(path, is_dir=None if removed is None else stat.S_ISDIR(removed.st_mode))

    def _prune(self, dir_fd: int, dir_path: str):
        """Remove everything under the directory that this layer did not write."""
        pending = [(os.dup(dir_fd), dir_path)]  # iterative: directories may nest deeply
        try:
            while pending:
                fd, path = pending.pop()
                try:
                    lfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
                    try:
                        names = os.listdir(lfd)
                    finally:
                        os.close(lfd)
                    for name in names:
                        child = f"{path}/{name}" if path else name
                        if child not in self.touched:
                            walk.remove_entry(fd, name)
                            continue
                        st = walk.lstat_at(fd, name)
                        if st is not None and stat.S_ISDIR(st.st_mode):
                            pending.append((os.open(name, walk._DIR_FLAGS, dir_fd=fd), child))
                finally:
                    os.close(fd)
        finally:
            for fd, _ in pending:
                os.close(fd)

    def _set_dir_times(self):
        # Last, because creating children bumps a directory's mtime.
        for path, mtime in self.dir_times:
            parts = walk.split(path)
            try:
                parent = walk.open_dir(self.root_fd, parts[:-1])
            except (FileNotFoundError, NotADirectoryError):
                continue
            try:
                st = walk.lstat_at(parent, parts[-1])
                if st is not None and stat.S_ISDIR(st.st_mode):
                    os.utime(parts[-1], times=(mtime, mtime), dir_fd=parent, follow_symlinks=False)
            finally:
                os.close(parent)
