"""Layer tars written from trees: round trip through extraction, determinism, options."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile

import pytest

from baleine.layers import (LayerError, Metadata, apply_layer, diff_tree, is_real_root,
                            sidecar_path)

from .conftest import d, dev, f, fifo, hl, layer, members, sym

CAP = b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xfe"


def describe(info: tarfile.TarInfo, data: bytes | None = None) -> tuple:
    xattrs = {k: v.encode("utf-8", "surrogateescape") for k, v in info.pax_headers.items()
              if k.startswith("SCHILY.xattr.")}
    return (info.name.rstrip("/"), info.type, info.uid, info.gid, info.mode, int(info.mtime),
            info.size if info.isreg() else 0, info.linkname,
            (info.devmajor, info.devminor) if info.ischr() or info.isblk() else None, xattrs, data)


def read_all(data: bytes) -> list[tuple]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for info in tf:
            content = tf.extractfile(info).read() if info.isreg() else None
            out.append(describe(info, content))
    return out


def sample_layer():
    """Members in the order Docker writes them: byte-sorted depth-first, dirs first."""
    long = "L" * 150
    items = [
        d("bin", mode=0o755),
        f("bin/passwd", b"suid binary", mode=0o4755),
        hl("bin/passwd2", "bin/passwd", mode=0o4755),
        f("bin/ping", b"ping", mode=0o755, xattrs={"security.capability": CAP}),
        sym("bin/sh", "/usr/bin/dash"),
        d("dev", mode=0o755),
        fifo("dev/initctl", mode=0o600),
        d("etc", mode=0o755),
        f("etc/shadow", b"root:*:", mode=0o640, gid=42),
        d("home", mode=0o755),
        d("home/alice", mode=0o700, uid=1000, gid=1000),
        f("home/alice/.profile", b"export A=1\n", mode=0o600, uid=1000, gid=1000),
        d("home/alice/" + long, uid=1000, gid=1000),
        f("home/alice/" + long + "/" + long, b"deep", uid=1000, gid=1000),
        d("ro", mode=0o555),
        f("ro/file", b"read only", mode=0o444),
        d("tmp", mode=0o1777),
    ]
    if is_real_root():
        items.insert(7, dev("dev/null", 1, 3, mode=0o666))
    return items


def test_round_trip_extract_then_diff(tmp_path, resolver):
    original = layer(*sample_layer()).getvalue()
    root = tmp_path / "diff"
    root.mkdir()
    result = apply_layer(io.BytesIO(original), root)
    assert result.skipped_devices == []
    out = io.BytesIO()
    diff = diff_tree(root, out, metadata=Metadata.load(sidecar_path(root)))
    produced = out.getvalue()
    assert read_all(produced) == read_all(original)
    assert diff.diff_id == "sha256:" + hashlib.sha256(produced).hexdigest()
    assert diff.size == len(produced) and diff.entries == len(sample_layer())
    # And once more: the produced layer reproduces itself byte for byte.
    root2 = tmp_path / "again"
    root2.mkdir()
    apply_layer(io.BytesIO(produced), root2)
    out2 = io.BytesIO()
    assert diff_tree(root2, out2, metadata=Metadata.load(sidecar_path(root2))).diff_id == diff.diff_id


def test_tar_format_is_dockers(tmp_path):
    root = tmp_path / "t"
    (root / "dir" / ("n" * 120)).mkdir(parents=True)
    (root / "dir" / "file").write_bytes(b"x")
    os.symlink("file", root / "dir" / "link")
    out = io.BytesIO()
    diff_tree(root, out)
    infos = members(out.getvalue())
    names = [i.name for i in infos]
    assert names == ["dir", "dir/file", "dir/link", "dir/" + "n" * 120]  # tarfile strips "/"
    raw = out.getvalue()
    assert b"dir/\0" in raw                      # directory names end with "/"
    assert b"./" not in raw[:512] and not raw.startswith(b"/")
    assert infos[3].pax_headers.get("path") == "dir/" + "n" * 120 + "/"   # PAX for long names
    assert all(i.uname == "" and i.gname == "" for i in infos)
    assert "atime" not in str(raw) and "ctime" not in str(raw)


def test_sorted_deterministic_and_mtime_clamp(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    for name in ["b", "a-c", "a"]:
        (root / name).mkdir()
    (root / "a" / "z").write_text("z")
    os.utime(root / "a" / "z", (2_000_000_000, 2_000_000_000))
    first, second = io.BytesIO(), io.BytesIO()
    r1 = diff_tree(root, first, mtime_clamp=1_500_000_000)
    r2 = diff_tree(root, second, mtime_clamp=1_500_000_000)
    assert r1.diff_id == r2.diff_id and first.getvalue() == second.getvalue()
    infos = members(first.getvalue())
    assert [i.name for i in infos] == ["a", "a/z", "a-c", "b"]
    assert all(i.mtime <= 1_500_000_000 for i in infos)


def test_prefix_and_owner_overrides(tmp_path):
    src = tmp_path / "ctx"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "app.py").write_text("print(1)\n")
    (src / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "run.sh", 0o755)
    out = io.BytesIO()
    diff_tree(src, out, prefix="/usr/local/app/", owners={"/run.sh": (1000, 1000, None),
                                                            "pkg/app.py": (0, 0, 0o600)},
              uid_map={os.getuid(): 0}, gid_map={os.getgid(): 0})
    infos = {i.name: i for i in members(out.getvalue())}
    assert list(infos) == ["usr", "usr/local", "usr/local/app", "usr/local/app/pkg",
                           "usr/local/app/pkg/app.py", "usr/local/app/run.sh"]
    assert infos["usr"].mode == 0o755 and infos["usr"].isdir()
    assert (infos["usr/local/app/run.sh"].uid, infos["usr/local/app/run.sh"].mode) == (1000, 0o755)
    assert (infos["usr/local/app/pkg/app.py"].uid, infos["usr/local/app/pkg/app.py"].mode) == (0, 0o600)


def test_single_file_source(tmp_path):
    (tmp_path / "hello.c").write_text("int main(){}\n")
    out = io.BytesIO()
    diff_tree(tmp_path / "hello.c", out, prefix="src/main.c")
    infos = members(out.getvalue())
    assert [(i.name, i.type) for i in infos] == [("src", tarfile.DIRTYPE), ("src/main.c", tarfile.REGTYPE)]


def test_hardlinks_by_inode(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "a").write_text("shared")
    os.link(root / "a", root / "b")
    out = io.BytesIO()
    diff_tree(root, out)
    infos = members(out.getvalue())
    assert [(i.name, i.type, i.linkname) for i in infos] == [("a", tarfile.REGTYPE, ""),
                                                              ("b", tarfile.LNKTYPE, "a")]


def test_copied_hardlink_still_written_as_link(tmp_path):
    # As after an EPERM fallback: two independent copies, the sidecar says "link".
    root = tmp_path / "t"
    root.mkdir()
    apply_layer(layer(f("a", b"same"), hl("b", "a")), root)
    os.unlink(root / "b")
    (root / "b").write_bytes(b"same")
    out = io.BytesIO()
    diff_tree(root, out, metadata=Metadata.load(sidecar_path(root)))
    assert [(i.name, i.type) for i in members(out.getvalue())] == [("a", tarfile.REGTYPE), ("b", tarfile.LNKTYPE)]
    (root / "b").write_bytes(b"changed")
    out = io.BytesIO()
    diff_tree(root, out, metadata=Metadata.load(sidecar_path(root)))
    assert [i.type for i in members(out.getvalue())] == [tarfile.REGTYPE, tarfile.REGTYPE]


def test_chmod_after_extraction_wins_over_sidecar(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    apply_layer(layer(f("su", b"x", mode=0o4755), f("other", b"y", mode=0o4755)), root)
    os.chmod(root / "other", 0o700)
    out = io.BytesIO()
    diff_tree(root, out, metadata=Metadata.load(sidecar_path(root)))
    modes = {i.name: i.mode for i in members(out.getvalue())}
    assert modes == {"su": 0o4755, "other": 0o700}


def test_whiteout_names_refused_in_trees(tmp_path):
    (tmp_path / ".wh.oops").write_text("")
    with pytest.raises(LayerError, match=r"\.wh\.oops"):
        diff_tree(tmp_path, io.BytesIO())


def test_unreadable_files_still_diffed(tmp_path):
    root = tmp_path / "t"
    (root / "closed").mkdir(parents=True)
    (root / "closed" / "f").write_text("secret")
    os.chmod(root / "closed" / "f", 0)
    os.chmod(root / "closed", 0)
    out = io.BytesIO()
    diff_tree(root, out)
    infos = {i.name: i for i in members(out.getvalue())}
    assert infos["closed"].mode == 0 and infos["closed/f"].mode == 0
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.extractfile("closed/f").read() == b"secret"
    assert stat.S_IMODE(os.lstat(root / "closed").st_mode) in (0, 0o700)


def test_non_utf8_names_round_trip(tmp_path):
    name = os.fsdecode(b"caf\xe9")  # latin-1 bytes, not UTF-8
    original = layer(d("dir"), f("dir/" + name, b"x", mode=0o600))
    root = tmp_path / "diff"
    root.mkdir()
    apply_layer(original, root)
    assert os.listdir(os.fsencode(root / "dir")) == [b"caf\xe9"]
    out = io.BytesIO()
    diff_tree(root, out, metadata=Metadata.load(sidecar_path(root)))
    assert [i.name for i in members(out.getvalue())] == ["dir", "dir/" + name]
