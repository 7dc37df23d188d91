"""Hostile layers: each is refused or neutralised, and nothing outside the root changes."""

from __future__ import annotations

import io
import os

import pytest

from baleine.layers import LayerError, apply_layer

from .conftest import d, f, hl, layer, sym


def test_dotdot_escape_refused(arena):
    with pytest.raises(LayerError, match=r"\.\./escape"):
        apply_layer(layer(f("../escape", b"x")), arena.root)
    arena.assert_outside_untouched()


def test_dotdot_inside_path_refused(arena):
    with pytest.raises(LayerError, match="'..'"):
        apply_layer(layer(d("a"), f("a/../../outside/secret", b"pwned")), arena.root)
    arena.assert_outside_untouched()


def test_absolute_path_lands_inside_root(arena):
    target = os.path.join(arena.outside, "abs")
    apply_layer(layer(f(target, b"x"), f("/etc/hosts", b"h")), arena.root)
    assert not os.path.exists(target)
    assert open(arena.path(target.lstrip("/")), "rb").read() == b"x"
    assert open(arena.path("etc/hosts"), "rb").read() == b"h"
    arena.assert_outside_untouched()


def test_dot_slash_and_slash_prefixes_are_the_same_name(arena):
    apply_layer(layer(f("./a", b"1"), f("/a", b"2"), f(".//./a", b"3")), arena.root)
    assert open(arena.path("a"), "rb").read() == b"3"


def test_symlink_then_write_through_absolute(arena):
    # x -> <host dir that exists>, then x/file: must not reach the host directory.
    with pytest.raises(LayerError, match="x/file"):
        apply_layer(layer(sym("x", arena.outside), f("x/file", b"pwned")), arena.root)
    assert not os.path.exists(os.path.join(arena.outside, "file"))
    assert os.path.islink(arena.path("x"))
    arena.assert_outside_untouched()


def test_symlink_then_overwrite_existing_host_file(arena):
    with pytest.raises(LayerError):
        apply_layer(layer(sym("x", arena.outside), f("x/secret", b"pwned")), arena.root)
    arena.assert_outside_untouched()


def test_symlink_to_slash_resolves_in_root(arena):
    apply_layer(layer(d("etc"), sym("x", "/"), f("x/etc/file", b"ok")), arena.root)
    assert open(arena.path("etc/file"), "rb").read() == b"ok"
    arena.assert_outside_untouched()


def test_relative_symlink_climbing_out_is_clamped(arena):
    apply_layer(layer(sym("x", "../../../../.."), f("x/file", b"ok")), arena.root)
    assert open(arena.path("file"), "rb").read() == b"ok"
    assert not os.path.exists(os.path.join(arena.base, "file"))
    arena.assert_outside_untouched()


@pytest.mark.parametrize("target", ["../../..", "../../../outside", "OUTSIDE"])
def test_two_layer_cve_2025_45582_same_root(arena, target):
    target = target.replace("OUTSIDE", arena.outside)
    apply_layer(layer(sym("x", target)), arena.root)
    try:
        apply_layer(layer(f("x/file", b"pwned"), f("x/secret", b"pwned")), arena.root)
    except LayerError:
        pass
    assert not os.path.exists(os.path.join(arena.outside, "file"))
    assert not os.path.exists(os.path.join(arena.base, "file"))
    arena.assert_outside_untouched()


def test_two_layer_cve_2025_45582_separate_layer_dirs(arena, tmp_path_factory):
    # Per-layer directories (overlay lowerdirs): layer 2 never sees layer 1's symlink.
    apply_layer(layer(sym("x", "../../..")), arena.root)
    second = tmp_path_factory.mktemp("layer2") / "diff"
    second.mkdir(parents=True)
    apply_layer(layer(f("x/file", b"data")), second)
    assert (second / "x").is_dir() and (second / "x" / "file").read_bytes() == b"data"
    arena.assert_outside_untouched()


def test_hardlink_to_outside_refused(arena):
    with pytest.raises(LayerError, match="h"):
        apply_layer(layer(hl("h", "../outside/secret")), arena.root)
    with pytest.raises(LayerError, match="does not exist"):
        apply_layer(layer(hl("h2", os.path.join(arena.outside, "secret"))), arena.root)
    assert os.stat(os.path.join(arena.outside, "secret")).st_nlink == 1
    arena.assert_outside_untouched()


def test_hardlink_through_symlinked_dir_to_outside_refused(arena):
    with pytest.raises(LayerError, match="does not exist"):
        apply_layer(layer(sym("s", arena.outside), hl("h", "s/secret")), arena.root)
    assert os.stat(os.path.join(arena.outside, "secret")).st_nlink == 1
    arena.assert_outside_untouched()


def test_hardlink_to_symlink_is_not_a_link_to_its_target(arena):
    secret = os.path.join(arena.outside, "secret")
    result = apply_layer(layer(sym("s", secret), hl("h", "s"), f("h2", b"")), arena.root)
    st = os.lstat(arena.path("h"))
    assert os.path.islink(arena.path("h")) and os.readlink(arena.path("h")) == secret
    assert st.st_ino != os.lstat(arena.path("s")).st_ino  # an equal symlink, not a link
    assert os.stat(secret).st_nlink == 1
    assert result.metadata["h"].link == "s"
    arena.assert_outside_untouched()


def test_hardlink_to_directory_refused(arena):
    with pytest.raises(LayerError, match="not a regular file"):
        apply_layer(layer(d("dir"), hl("h", "dir")), arena.root)


def test_whiteout_of_parent_refused(arena):
    with pytest.raises(LayerError, match=r"\.\./outside/\.wh\.secret"):
        apply_layer(layer(f("../outside/.wh.secret")), arena.root)
    with pytest.raises(LayerError):
        apply_layer(layer(f("../.wh.outside")), arena.root)
    with pytest.raises(LayerError, match="invalid whiteout"):
        apply_layer(layer(d("a"), f("a/.wh..")), arena.root)
    arena.assert_outside_untouched()


def test_whiteout_through_symlink_stays_in_root(arena):
    apply_layer(layer(sym("x", arena.outside), sym("y", "../../.."), f("keep")), arena.root)
    apply_layer(layer(f("x/.wh.secret"), f("y/.wh.outside"), f("y/.wh..wh..opq")), arena.root)
    arena.assert_outside_untouched()


def test_bare_whiteout_refused(arena):
    with pytest.raises(LayerError, match="invalid whiteout"):
        apply_layer(layer(f(".wh.")), arena.root)
    with pytest.raises(LayerError, match="invalid whiteout"):
        apply_layer(layer(d("a"), f("a/.wh.")), arena.root)
    arena.assert_outside_untouched()


def test_symlink_loop_refused(arena):
    with pytest.raises(LayerError, match="a/file"):
        apply_layer(layer(sym("a", "b"), sym("b", "a"), f("a/file", b"x")), arena.root)
    arena.assert_outside_untouched()


def test_file_as_parent_refused(arena):
    with pytest.raises(LayerError, match="f/child"):
        apply_layer(layer(f("f", b"x"), f("f/child", b"y")), arena.root)


def test_entry_limit(arena):
    with pytest.raises(LayerError, match="more than 3 entries"):
        apply_layer(layer(*(f(f"f{i}") for i in range(5))), arena.root, max_entries=3)


def test_byte_limit(arena):
    with pytest.raises(LayerError, match="big.*exceed"):
        apply_layer(layer(f("small", b"x" * 10), f("big", b"x" * 100)), arena.root, max_bytes=50)
    assert not os.path.exists(arena.path("big"))


def test_huge_pax_header_refused(arena, monkeypatch):
    from baleine.layers import extract
    monkeypatch.setattr(extract, "MAX_HEADER_BYTES", 4096)
    info, data = f("a")
    info.pax_headers = {"comment": "x" * 10000}
    with pytest.raises(LayerError, match="header"):
        apply_layer(layer((info, data)), arena.root)


def test_nul_in_name_refused(arena):
    info, data = f("a")
    info.pax_headers = {"path": "a\0b"}
    with pytest.raises(LayerError, match="NUL"):
        apply_layer(layer((info, data)), arena.root)


def test_overlong_name_refused(arena):
    with pytest.raises(LayerError, match="PATH_MAX"):
        apply_layer(layer(f("a/" * 2100 + "x")), arena.root)


def test_garbage_is_refused_with_a_message(arena):
    with pytest.raises(LayerError):
        apply_layer(io.BytesIO(b"this is not a tar archive" * 100), arena.root)


def test_truncated_tar_refused(arena):
    data = layer(f("big", b"x" * 5000)).getvalue()[:2048]
    with pytest.raises(LayerError, match="big|invalid tar"):
        apply_layer(io.BytesIO(data), arena.root)
