"""`apt-get install` in a Debian rootfs, as root and as an unprivileged user (single uid).

The Debian rootfs is made once with `mmdebstrap --variant=minbase bookworm` and cached as a
tar under ~/.cache/baleine/test-rootfs/.  As the test user it is extracted inside a user
namespace (`unshare -Ur tar -x`), so its files belong to that user, root inside."""

import os
import shutil
import subprocess

import pytest

TEST_USER = "baleinetest"
MIRROR = "http://deb.debian.org/debian"
CACHE = os.path.expanduser("~/.cache/baleine/test-rootfs")
TARBALL = os.path.join(CACHE, "bookworm-minbase.tar")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def debian_tar():
    if os.path.exists(TARBALL):
        return TARBALL
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed")
    os.makedirs(CACHE, exist_ok=True)
    tmp = os.path.join(CACHE, f"tmp-{os.getpid()}-bookworm-minbase.tar")  # name ends in .tar
    r = subprocess.run(["mmdebstrap", "--variant=minbase", "bookworm", tmp, MIRROR],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        pytest.skip(f"mmdebstrap failed (no mirror?): {r.stderr[-500:]}")
    os.replace(tmp, TARBALL)
    return TARBALL


def _extract(runner, tarball) -> str:
    rootfs = os.path.join(runner.base, "debian")
    os.makedirs(rootfs)
    common = ["tar", "-x", "-p", "-f", "-", "-C", rootfs, "--exclude=./dev/*", "--numeric-owner"]
    with open(tarball, "rb") as stdin:
        if runner.rootless:
            shutil.chown(rootfs, TEST_USER)
            cmd = ["runuser", "-u", TEST_USER, "--", "unshare", "-Ur", *common, "--no-same-owner"]
        else:
            cmd = common
        subprocess.run(cmd, stdin=stdin, check=True, timeout=300)
    return rootfs


def test_apt_get_install_git(runner, debian_tar):
    rootfs = _extract(runner, debian_tar)

    def network(spec):
        spec["mounts"].append({"destination": "/etc/resolv.conf", "type": "bind",
                               "source": "/etc/resolv.conf", "options": ["rbind", "ro"]})

    annotations = {"org.baleine.fakeroot": "1"} if runner.rootless else {}
    script = ("apt-get update -q && apt-get install -y -q --no-install-recommends git "
              "&& git --version")
    bundle = runner.bundle(["sh", "-c", script], rootfs=rootfs, network="host", mutate=network,
                           annotations=annotations,
                           env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                "DEBIAN_FRONTEND=noninteractive", "HOME=/root"])
    r = runner.run(bundle, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "git version" in r.stdout
    assert os.path.exists(os.path.join(rootfs, "usr", "bin", "git"))
    # The APT setting came from outside and is not in the rootfs.
    assert not os.path.exists(os.path.join(rootfs, "dev", ".baleine-apt.conf"))
    if runner.rootless:
        assert "setgroups" not in r.stderr and "Could not switch" not in r.stderr
