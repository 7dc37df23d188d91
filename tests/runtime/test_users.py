"""resolve_user parses the container's /etc/passwd and /etc/group as text, in-root."""

import os

import pytest

from baleine.runtime import RuntimeStartError, resolve_user
from baleine.runtime.paths import secure_join


@pytest.fixture
def rootfs(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "bob:x:1000:1000:Bob:/home/bob:/bin/sh\n"
        "# comment\n"
        "svc:x:999:998::/:/bin/false\n")
    (etc / "group").write_text(
        "root:x:0:\nbob:x:1000:\nstaff:x:50:bob\nusers:x:100:alice,bob\nsvc:x:998:\n")
    return str(tmp_path)


def test_names_and_numbers(rootfs):
    assert resolve_user(rootfs, "") == (0, 0, [])
    assert resolve_user(rootfs, "root") == (0, 0, [])
    assert resolve_user(rootfs, "bob") == (1000, 1000, [50, 100])
    assert resolve_user(rootfs, "1000") == (1000, 1000, [50, 100])
    assert resolve_user(rootfs, "bob:staff") == (1000, 50, [])
    assert resolve_user(rootfs, "bob:998") == (1000, 998, [])
    assert resolve_user(rootfs, "svc") == (999, 998, [])
    # Numeric ids unknown to passwd/group are taken as they are, like runc.
    assert resolve_user(rootfs, "4242") == (4242, 0, [])
    assert resolve_user(rootfs, "4242:4343") == (4242, 4343, [])


def test_unknown_user_is_dockers_error(rootfs):
    with pytest.raises(RuntimeStartError) as info:
        resolve_user(rootfs, "alice")
    assert str(info.value) == "unable to find user alice: no matching entries in passwd file"
    assert info.value.exit_code == 125
    with pytest.raises(RuntimeStartError) as info:
        resolve_user(rootfs, "bob:nogroup")
    assert str(info.value) == "unable to find group nogroup: no matching entries in group file"


def test_passwd_symlink_cannot_escape_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.write_text("alice:x:7:7::/:/bin/sh\n")
    # An absolute or ..-heavy symlink is resolved inside the root, never on the host.
    os.symlink("/../../../../" + str(outside), root / "etc" / "passwd")
    with pytest.raises(RuntimeStartError):
        resolve_user(str(root), "alice")


def test_secure_join_stays_in_root(tmp_path):
    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    os.symlink("/", root / "a" / "up")
    os.symlink("../../..", root / "a" / "dots")
    assert secure_join(str(root), "/a/up/etc") == str(root / "etc")
    assert secure_join(str(root), "/a/dots/etc") == str(root / "etc")
    assert secure_join(str(root), "../../x") == str(root / "x")

