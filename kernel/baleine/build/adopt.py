"""Keep a RUN step's upper directory as the unpacked copy of the layer it became.

The next steps need that layer unpacked (a RUN runs on it, COPY reads the destination's
parents): unpacking the tar just written from the very same directory would copy it twice.
The upper is already in the form snapshot.ensure_layer produces (overlay whiteouts and
opaque markers of the same xattr family), so it is moved to `layers/<diff_id>/diff`; its
sidecar is made from the tar's headers (the intended owners and modes), and without root
the modes on disk are made readable by the user, as the extractor does. Any failure leaves
things as they were: the layer is then unpacked from its blob when needed.
"""

from __future__ import annotations

import os
import stat
import tarfile

from baleine.layers import Entry, Metadata, sidecar_path
from baleine.layers.extract import disk_mode

_OVERLAY = ("trusted.overlay.", "user.overlay.")


def _kind(m: tarfile.TarInfo) -> str:
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.isfifo():
        return "fifo"
    if m.ischr():
        return "char"
    if m.isblk():
        return "block"
    return "file"


def sidecar_from_tar(path: str) -> Metadata:
    metadata = Metadata()
    with tarfile.open(path, "r:") as tf:
        for m in tf:
            name = m.name.rstrip("/")
            base = name.rpartition("/")[2]
            if base.startswith(".wh."):
                continue
            kind = _kind(m)
            xattrs = {k[len("SCHILY.xattr."):]: v.encode("utf-8", "surrogateescape")
                      for k, v in m.pax_headers.items()
                      if k.startswith("SCHILY.xattr.") and not k[len("SCHILY.xattr."):].startswith(_OVERLAY)}
            metadata.set(name, Entry(type=kind, uid=m.uid, gid=m.gid, mode=m.mode & 0o7777, mtime=m.mtime,
                                     xattrs=xattrs, link=m.linkname if m.islnk() else None,
                                     devmajor=m.devmajor if kind in ("char", "block") else 0,
                                     devminor=m.devminor if kind in ("char", "block") else 0))
    return metadata


def _readable(root: str) -> None:
    """Rootless: u+rw(x) and no setuid/setgid on disk, as the extractor leaves files."""
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
                wanted = disk_mode(stat.S_IMODE(st.st_mode), kind)
                if wanted != stat.S_IMODE(st.st_mode):
                    os.chmod(path, wanted)
        os.chmod(directory, disk_mode(stat.S_IMODE(os.lstat(directory).st_mode), "dir"))


def adopt_upper(store_root: str, upper: str, diff_id: str, tar_path: str) -> bool:
    """Move `upper` to be the unpacked layer `diff_id`; False if it could not be done."""
    from baleine import snapshot

    final = os.path.dirname(snapshot.layer_path(store_root, diff_id))
    if os.path.isdir(final):
        return True
    os.makedirs(snapshot.layers_dir(store_root), mode=0o700, exist_ok=True)
    tmp = os.path.join(snapshot.layers_dir(store_root), f".tmp-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        metadata = sidecar_from_tar(tar_path)
        os.makedirs(tmp, mode=0o700)
        diff = os.path.join(tmp, "diff")
        os.rename(upper, diff)
        if os.geteuid() != 0:
            _readable(diff)
        os.chmod(diff, 0o755)
        metadata.save(sidecar_path(diff))
        try:
            os.rename(tmp, final)
        except OSError:
            if not os.path.isdir(final):
                raise
        return True
    except (OSError, tarfile.TarError, ValueError):
        return False
    finally:
        if os.path.exists(tmp):
            snapshot.remove_tree(tmp)
