"""Correct application of well-formed layers."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess

import pytest

from baleine.layers import LayerError, Metadata, apply_blob, apply_layer, is_real_root, sidecar_path

from .conftest import d, dev, f, fifo, hl, layer, sym

root_only = pytest.mark.skipif(not is_real_root(), reason="needs real root")


def ls(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def test_whiteouts_and_opaque_across_two_layers(arena):
    apply_layer(layer(d("a"), f("a/f1", b"1"), f("a/f2", b"2"), d("b"), d("b/sub"), f("b/sub/x"),
                      f("b/old"), d("c"), f("c/keep")), arena.root)
    # Opaque marker after the layer's own child: it still applies first.
    result = apply_layer(layer(f("a/.wh.f1"), d("b"), f("b/new", b"n"), d("b/sub"), f("b/sub/y"),
                               f("b/.wh..wh..opq"), f("c/.wh.missing"), f(".wh.nothere")), arena.root)
    assert ls(arena.root) == ["a", "a/f2", "b", "b/new", "b/sub", "b/sub/y", "c", "c/keep"]
    md = Metadata.load(sidecar_path(arena.root))
    assert sorted(md) == ["a", "a/f2", "b", "b/new", "b/sub", "b/sub/y", "c", "c/keep"]
    assert sorted(result.metadata) == sorted(md)
    arena.assert_outside_untouched()


def test_opaque_directory_not_yet_present_is_created(arena):
    apply_layer(layer(f("d/.wh..wh..opq")), arena.root)
    assert os.path.isdir(arena.path("d")) and os.listdir(arena.path("d")) == []


def test_whiteout_of_a_directory_removes_the_tree(arena):
    apply_layer(layer(d("x"), d("x/y"), f("x/y/z"), f("x/.hidden")), arena.root)
    apply_layer(layer(f(".wh.x")), arena.root)
    assert ls(arena.root) == []
    assert len(Metadata.load(sidecar_path(arena.root))) == 0


def test_whiteout_does_not_hide_same_layer_entry(arena):
    apply_layer(layer(f("keep", b"old")), arena.root)
    apply_layer(layer(f("keep", b"new"), f(".wh.keep")), arena.root)
    assert open(arena.path("keep"), "rb").read() == b"new"


def test_aufs_metadata_ignored(arena):
    apply_layer(layer(d(".wh..wh.plnk"), f(".wh..wh.plnk/123.456", b"x"), f("real")), arena.root)
    assert ls(arena.root) == ["real"]


def test_hardlinks(arena):
    result = apply_layer(layer(d("bin"), f("bin/a", b"same", mode=0o755), hl("bin/b", "bin/a"),
                               hl("c", "/bin/a")), arena.root)
    ino = os.lstat(arena.path("bin/a")).st_ino
    assert os.lstat(arena.path("bin/b")).st_ino == ino == os.lstat(arena.path("c")).st_ino
    assert result.metadata["bin/b"].link == "bin/a" and result.metadata["c"].link == "bin/a"
    assert result.metadata["bin/b"].mode == 0o755


def test_hardlink_to_earlier_layer_file(arena):
    apply_layer(layer(f("a", b"x")), arena.root)
    apply_layer(layer(hl("b", "a")), arena.root)
    assert os.path.samefile(arena.path("a"), arena.path("b"))


def test_fifo(arena):
    result = apply_layer(layer(fifo("p", mode=0o640)), arena.root)
    st = os.lstat(arena.path("p"))
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    assert result.metadata["p"].type == "fifo"


@root_only
def test_device_nodes_created_as_root(arena):
    result = apply_layer(layer(d("dev"), dev("dev/null", 1, 3), dev("dev/loop9", 7, 9, block=True)), arena.root)
    st = os.lstat(arena.path("dev/null"))
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert result.skipped_devices == []
    e = result.metadata["dev/loop9"]
    assert (e.type, e.devmajor, e.devminor, e.skipped) == ("block", 7, 9, False)


def test_setuid_kept_in_sidecar_cleared_on_disk(arena):
    result = apply_layer(layer(d("usr", mode=0o555), f("usr/su", b"x", mode=0o4755),
                               f("usr/wall", b"x", mode=0o2755, gid=5), f("locked", b"x", mode=0o000),
                               d("tmp", mode=0o1777)), arena.root)
    mode = lambda p: stat.S_IMODE(os.lstat(arena.path(p)).st_mode)
    assert mode("usr/su") == 0o755 and mode("usr/wall") == 0o755
    assert mode("usr") == 0o755          # u+w so the user can always delete
    assert mode("locked") == 0o600       # u+rw
    assert mode("tmp") == 0o1777         # sticky is harmless, kept
    md = Metadata.load(sidecar_path(arena.root))
    assert md["usr/su"].mode == 0o4755 and md["usr/wall"].mode == 0o2755
    assert md["locked"].mode == 0 and md["usr"].mode == 0o555 and md["usr/wall"].gid == 5
    assert result.metadata["usr/su"].mode == 0o4755


@root_only
def test_exact_modes_and_owners_as_root(arena):
    apply_layer(layer(f("su", b"x", mode=0o4755, uid=1234, gid=99), sym("l", "su", uid=7, gid=8),
                      d("home", uid=1000, gid=1000, mode=0o700)), arena.root, exact_modes=True)
    st = os.lstat(arena.path("su"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 99, 0o4755)
    st = os.lstat(arena.path("l"))
    assert (st.st_uid, st.st_gid) == (7, 8)
    st = os.lstat(arena.path("home"))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (1000, 0o700)


def test_long_names(arena):
    long_dir = "d" * 120
    long_file = long_dir + "/" + "f" * 200
    long_target = "/" + "t" * 300
    apply_layer(layer(d(long_dir), f(long_file, b"long"), sym(long_dir + "/s", long_target),
                      hl(long_dir + "/h", long_file)), arena.root)
    assert open(arena.path(long_file), "rb").read() == b"long"
    assert os.readlink(arena.path(long_dir + "/s")) == long_target
    assert os.path.samefile(arena.path(long_dir + "/h"), arena.path(long_file))


def test_gnu_format_long_names(arena):
    import tarfile
    name = "g" * 150
    apply_layer(layer(f(name, b"gnu"), fmt=tarfile.GNU_FORMAT), arena.root)
    assert open(arena.path(name), "rb").read() == b"gnu"


def test_directory_replaces_file_and_back(arena):
    apply_layer(layer(f("x", b"file"), d("y"), d("y/sub"), f("y/sub/deep")), arena.root)
    apply_layer(layer(d("x"), f("x/inside"), f("y", b"now a file")), arena.root)
    assert os.path.isdir(arena.path("x")) and os.path.isfile(arena.path("x/inside"))
    assert open(arena.path("y"), "rb").read() == b"now a file"
    md = Metadata.load(sidecar_path(arena.root))
    assert sorted(md) == ["x", "x/inside", "y"] and md["y"].type == "file" and md["x"].type == "dir"


def test_directory_merges_with_directory(arena):
    apply_layer(layer(d("x", mode=0o755), f("x/old")), arena.root)
    apply_layer(layer(d("x", mode=0o700, uid=5), f("x/new")), arena.root)
    assert ls(arena.root) == ["x", "x/new", "x/old"]
    assert Metadata.load(sidecar_path(arena.root))["x"].uid == 5


def test_symlink_replaced_by_file_not_followed(arena):
    apply_layer(layer(f("real", b"orig"), sym("s", "real")), arena.root)
    apply_layer(layer(f("s", b"new")), arena.root)
    assert open(arena.path("real"), "rb").read() == b"orig"
    assert not os.path.islink(arena.path("s"))


def test_implicit_parents_and_times(arena):
    result = apply_layer(layer(f("a/b/c", b"x", mtime=1_234_567_890), d("t", mtime=1_000_000_000),
                               f("t/inside", b"")), arena.root)
    assert os.lstat(arena.path("a/b/c")).st_mtime == 1_234_567_890
    assert os.lstat(arena.path("t")).st_mtime == 1_000_000_000  # set after its children
    assert result.metadata["a"].mode == 0o755 and result.metadata["a/b"].type == "dir"


def test_xattrs(arena):
    cap = b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xfe"
    result = apply_layer(layer(f("ping", b"x", xattrs={"security.capability": cap, "user.note": b"hi",
                                                       "trusted.overlay.opaque": b"y"})), arena.root)
    assert result.metadata["ping"].xattrs == {"security.capability": cap, "user.note": b"hi"}
    assert Metadata.load(sidecar_path(arena.root))["ping"].xattrs["security.capability"] == cap
    try:
        assert os.getxattr(arena.path("ping"), "user.note") == b"hi"
    except OSError:
        pass  # filesystem without user xattrs
    with pytest.raises(OSError):
        os.getxattr(arena.path("ping"), "trusted.overlay.opaque")


def test_diff_id_and_expected_diff_id(arena):
    data = layer(f("a", b"x")).getvalue()
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    result = apply_layer(io.BytesIO(data), arena.root)
    assert (result.diff_id, result.size, result.entries) == (expected, len(data), 1)
    with pytest.raises(LayerError, match="diff_id mismatch"):
        apply_layer(io.BytesIO(data), arena.root, expected_diff_id="sha256:" + "0" * 64)


def test_apply_blob_gzip_with_digest(arena):
    data = layer(f("a", b"x" * 1000)).getvalue()
    blob = gzip.compress(data)
    result = apply_blob(io.BytesIO(blob), arena.root,
                        expected_digest="sha256:" + hashlib.sha256(blob).hexdigest(),
                        expected_diff_id="sha256:" + hashlib.sha256(data).hexdigest())
    assert result.entries == 1 and open(arena.path("a"), "rb").read() == b"x" * 1000
    with pytest.raises(LayerError, match="digest mismatch"):
        apply_blob(io.BytesIO(blob), arena.root, expected_digest="sha256:" + "1" * 64)


def test_empty_stream_is_an_empty_layer(arena):
    assert apply_layer(io.BytesIO(b""), arena.root).entries == 0
    assert apply_layer(layer(), arena.root).entries == 0


def test_root_entry_skipped(arena):
    apply_layer(layer(d("./", mode=0o700), d("/"), f("./x")), arena.root)
    assert ls(arena.root) == ["x"]


def test_no_sidecar(arena):
    apply_layer(layer(f("a")), arena.root, sidecar=False)
    assert not sidecar_path(arena.root).exists()


def test_overlay_whiteout_format(arena, tmp_path_factory):
    upper_layer = tmp_path_factory.mktemp("l2") / "diff"
    upper_layer.mkdir()
    apply_layer(layer(d("a"), f("a/gone"), f("a/stays"), d("o"), f("o/old")), arena.root)
    apply_layer(layer(f("a/.wh.gone"), d("o"), f("o/.wh..wh..opq"), f("o/new")), upper_layer,
                whiteout_format="overlay")
    st = os.lstat(upper_layer / "a" / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(upper_layer / "o", "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(upper_layer / "o")) == ["new"]
    if not is_real_root():
        return
    merged = tmp_path_factory.mktemp("merged")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={upper_layer}:{arena.root}", str(merged)], check=True)
    try:
        assert ls(merged) == ["a", "a/stays", "o", "o/new"]
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_metadata_keyed_by_real_path_through_symlinked_parent(arena):
    apply_layer(layer(d("usr"), d("usr/bin"), sym("bin", "usr/bin")), arena.root)
    result = apply_layer(layer(f("bin/tool", b"x", uid=5, mode=0o4755), d("bin/sub", uid=6)), arena.root)
    assert open(arena.path("usr/bin/tool"), "rb").read() == b"x"
    assert result.metadata["usr/bin/tool"].uid == 5 and "bin/tool" not in result.metadata
    assert result.metadata["usr/bin/sub"].uid == 6
    apply_layer(layer(f("bin/.wh.tool")), arena.root)
    assert not os.path.exists(arena.path("usr/bin/tool"))
    assert "usr/bin/tool" not in Metadata.load(sidecar_path(arena.root))
    arena.assert_outside_untouched()


def test_deep_nesting_no_recursion_limit(arena):
    deep = "/".join(["d"] * 1500)
    apply_layer(layer(f(deep + "/leaf", b"x")), arena.root)
    apply_layer(layer(d("d"), d("d/d"), f("d/d/new"), f("d/d/.wh..wh..opq")), arena.root)
    assert os.listdir(arena.path("d/d")) == ["new"]
    apply_layer(layer(f(deep + "/leaf2", b"x")), arena.root)
    out = io.BytesIO()
    from baleine.layers import diff_tree
    diff_tree(arena.root, out)
    assert len(out.getvalue()) > 1500 * 512
    apply_layer(layer(f(".wh.d")), arena.root)
    assert ls(arena.root) == []
