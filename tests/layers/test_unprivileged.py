"""Extraction by a plain user (no user namespace): what root-only operations turn into."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from baleine.layers import is_real_root

from .conftest import PYTHON, run_as, user_sandbox

needs_root = pytest.mark.skipif(not is_real_root(), reason="needs real root to switch user")

SCRIPT = textwrap.dedent("""
    import io, json, os, sys, tarfile
    from baleine.layers import apply_layer

    root = sys.argv[1]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, extra in [("link", tarfile.LNKTYPE, {"linkname": "rootfile"}),
                                  ("null", tarfile.CHRTYPE, {"devmajor": 1, "devminor": 3}),
                                  ("su", tarfile.REGTYPE, {"mode": 0o4755, "uid": 0, "gid": 0}),
                                  ("alice", tarfile.REGTYPE, {"uid": 1000, "gid": 1000})]:
            info = tarfile.TarInfo(name)
            info.type = kind
            for k, v in extra.items():
                setattr(info, k, v)
            tf.addfile(info, io.BytesIO(b""))
    buf.seek(0)
    r = apply_layer(buf, root)
    st = lambda p: os.lstat(os.path.join(root, p))
    print(json.dumps({
        "copied": r.copied_hardlinks, "skipped": r.skipped_devices,
        "link_ino_differs": st("link").st_ino != st("rootfile").st_ino,
        "link_content": open(os.path.join(root, "link")).read(),
        "link_meta": r.metadata["link"].link,
        "su_disk_mode": st("su").st_mode & 0o7777, "su_meta_mode": r.metadata["su"].mode,
        "alice_disk_uid": st("alice").st_uid, "alice_meta_uid": r.metadata["alice"].uid,
        "uid": os.getuid(),
    }))
""")


@needs_root
def test_plain_user_extraction(unprivileged_user):
    with open("/proc/sys/fs/protected_hardlinks") as fh:
        protected = fh.read().strip() == "1"
    with user_sandbox(unprivileged_user) as (code, work):
        with open(os.path.join(code, "script.py"), "w") as fh:
            fh.write(SCRIPT)
        os.chmod(os.path.join(code, "script.py"), 0o644)
        root = os.path.join(work, "diff")
        os.mkdir(root)
        os.chown(root, *(_ids(work)))
        with open(os.path.join(root, "rootfile"), "w") as fh:  # root-owned, not writable by the user
            fh.write("owned by root\n")
        proc = run_as(unprivileged_user, code, [PYTHON, f"{code}/script.py", root])
        assert proc.returncode == 0, proc.stderr
        r = json.loads(proc.stdout)
    if protected:  # linkat refused: the link is a copy, and the sidecar remembers it
        assert r["copied"] == ["link"] and r["link_ino_differs"]
    assert r["link_content"] == "owned by root\n" and r["link_meta"] == "rootfile"
    assert r["skipped"] == ["null"]
    assert (r["su_disk_mode"], r["su_meta_mode"]) == (0o755, 0o4755)
    assert (r["alice_disk_uid"], r["alice_meta_uid"]) == (r["uid"], 1000)


def _ids(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid


OVERLAY_FORMAT_SCRIPT = textwrap.dedent("""
    import io, os, subprocess, sys, tarfile
    from baleine.layers import apply_layer

    def tar(*names):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for name in names:
                info = tarfile.TarInfo(name)
                if name.endswith("/"):
                    info.type = tarfile.DIRTYPE
                tf.addfile(info, io.BytesIO(b""))
        buf.seek(0)
        return buf

    work = sys.argv[1]
    l1, l2, merged = (os.path.join(work, n) for n in ("l1", "l2", "merged"))
    for p in (l1, l2, merged):
        os.mkdir(p)
    apply_layer(tar("a/", "a/gone", "a/stay", "o/", "o/old"), l1)
    apply_layer(tar("a/.wh.gone", "o/", "o/.wh..wh..opq", "o/new"), l2, whiteout_format="overlay-userxattr")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={l2}:{l1},userxattr", merged], check=True)
    print(sorted(os.listdir(os.path.join(merged, "a"))), sorted(os.listdir(os.path.join(merged, "o"))))
""")


@needs_root
def test_overlay_whiteout_format_in_user_namespace(unprivileged_user):
    # Per-layer lowerdirs for a rootless overlay mount: 0/0 whiteouts and user.overlay.opaque.
    with user_sandbox(unprivileged_user) as (code, work):
        with open(os.path.join(code, "script.py"), "w") as fh:
            fh.write(OVERLAY_FORMAT_SCRIPT)
        os.chmod(os.path.join(code, "script.py"), 0o644)
        proc = run_as(unprivileged_user, code, ["unshare", "-Urm", PYTHON, f"{code}/script.py", work])
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split("\n")[0] == "['stay'] ['new']"
