"""The copy-and-walk fallback (no overlayfs), forced with BALEINE_STORAGE_DRIVER=vfs."""

import io
import json
import os
import tarfile
from pathlib import Path


def test_vfs_fallback_end_to_end(engine):
    engine.env["BALEINE_STORAGE_DRIVER"] = "vfs"
    engine("run", "--name", "flat", "busybox", "sh", "-c",
           "echo x > /etc/new && rm /etc/group && mkdir -p /var/spool/a && echo $(hostname) > /host")
    assert engine("inspect", "-f", "{{.Driver}}", "flat").stdout == "vfs\n"
    # Docker's naive diff: /var's mtime did not change, so only /var/spool shows.
    assert engine("diff", "flat").stdout == (
        "C /etc\nD /etc/group\nA /etc/new\nA /host\nC /var/spool\nA /var/spool/a\n")
    engine("commit", "flat", "flat:1")
    diff_id = json.loads(engine("image", "inspect", "-f", "{{json .RootFS.Layers}}", "flat:1").stdout)[-1]
    with tarfile.open(os.path.join(engine.root, "images", "blobs", "sha256", diff_id[7:])) as tar:
        names = [m.name + ("/" if m.isdir() else "") for m in tar.getmembers()]
        assert all(m.uid == 0 for m in tar.getmembers())
    assert names == ["etc/", "etc/.wh.group", "etc/new", "host", "var/", "var/spool/", "var/spool/a/"]
    assert engine("run", "--rm", "flat:1", "sh", "-c", "cat /etc/new; ls /etc/group 2>&1 || true").stdout \
        == "x\nls: /etc/group: No such file or directory\n"
    out = engine.path("out")
    os.mkdir(out)
    engine.chown(out)
    engine("cp", "flat:/etc/new", out)
    assert Path(out + "/new").read_text() == "x\n"
    engine("cp", "-", "flat:/tmp", input=_tar("dropped", b"in"))
    assert "A /tmp/dropped" in engine("diff", "flat").stdout
    with tarfile.open(fileobj=io.BytesIO(engine.raw("export", "flat").stdout)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert "etc/new" in members and "etc/group" not in members and members["tmp"].mode == 0o1777
    engine("rm", "flat")
    assert engine("ps", "-aq").stdout == ""


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
