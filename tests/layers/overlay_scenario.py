"""A container's life on a real overlayfs, then its diff. Run by test_overlay.py.

Standalone on purpose: test_overlay.py runs it in-process as root, and as an unprivileged
user inside `unshare -Urm` (overlayfs with userxattr), where it prints its result as JSON.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

from baleine.layers import Metadata, apply_layer, diff_overlay_upper, diff_tree, sidecar_path


def _base_layer() -> bytes:
    buf = io.BytesIO()

    def add(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, **extra):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, 1_600_000_000
        for key, value in extra.items():
            setattr(info, key, value)
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        add("dev", tarfile.DIRTYPE, mode=0o755)
        add("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
        add("etc", tarfile.DIRTYPE, mode=0o755)
        add("etc/deleteme", data=b"bye\n")
        add("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n")
        add("home", tarfile.DIRTYPE, mode=0o755)
        add("home/alice", tarfile.DIRTYPE, mode=0o700, uid=1000, gid=1000)
        add("home/alice/notes", data=b"one\n", mode=0o600, uid=1000, gid=1000)
        add("opt", tarfile.DIRTYPE, mode=0o755)
        add("opt/old", tarfile.DIRTYPE, mode=0o755)
        add("opt/old/a", data=b"a")
        add("opt/old/b", data=b"b")
        add("usr", tarfile.DIRTYPE, mode=0o755)
        add("usr/bin", tarfile.DIRTYPE, mode=0o755)
        add("usr/bin/su", data=b"\x7fELF", mode=0o4755)
    return buf.getvalue()


def _describe(data: bytes) -> list[dict]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [{"name": i.name, "type": i.type.decode(), "uid": i.uid, "gid": i.gid, "mode": i.mode,
                 "size": i.size, "linkname": i.linkname} for i in tf]


def _listing(root: str) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            out[rel] = None if os.path.isdir(p) else open(p, "rb").read().decode()
    return out


def run(work: str, userxattr: bool) -> dict:
    dirs = {k: os.path.join(work, k) for k in ("lower", "upper", "work", "merged", "flat")}
    for path in dirs.values():
        os.makedirs(path)
    lower = os.path.join(dirs["lower"], "diff")
    os.mkdir(lower)
    base = _base_layer()
    applied = apply_layer(io.BytesIO(base), lower)

    options = f"lowerdir={lower},upperdir={dirs['upper']},workdir={dirs['work']}"
    if userxattr:
        options += ",userxattr"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, dirs["merged"]], check=True)
    try:
        m = dirs["merged"]
        with open(os.path.join(m, "new.txt"), "w") as fh:
            fh.write("new\n")
        with open(os.path.join(m, "etc/passwd"), "a") as fh:
            fh.write("alice:x:1000:1000::/home/alice:/bin/sh\n")
        os.unlink(os.path.join(m, "etc/deleteme"))
        shutil.rmtree(os.path.join(m, "opt/old"))
        os.mkdir(os.path.join(m, "opt/old"))
        with open(os.path.join(m, "opt/old/c"), "w") as fh:
            fh.write("c")
        with open(os.path.join(m, "home/alice/notes"), "a") as fh:
            fh.write("two\n")
        merged_view = _listing(m)
    finally:
        subprocess.run(["umount", dirs["merged"]], check=True)

    lower_md = Metadata.load(sidecar_path(lower))
    upper_tar = io.BytesIO()
    upper_diff = diff_overlay_upper(dirs["upper"], upper_tar, metadata=lower_md)
    lower_tar = io.BytesIO()
    diff_tree(lower, lower_tar, metadata=lower_md)

    # The two layers applied one over the other must give what the container saw.
    flat = os.path.join(dirs["flat"], "diff")
    os.mkdir(flat)
    apply_layer(io.BytesIO(base), flat)
    apply_layer(io.BytesIO(upper_tar.getvalue()), flat)

    return {
        "skipped_devices": applied.skipped_devices,
        "upper": _describe(upper_tar.getvalue()),
        "upper_diff_id": upper_diff.diff_id,
        "lower": _describe(lower_tar.getvalue()),
        "merged_view": merged_view,
        "flat_view": _listing(flat),
        "opaque_xattrs": sorted(os.listxattr(os.path.join(dirs["upper"], "opt/old"))),
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], userxattr=sys.argv[2] == "userxattr")))
