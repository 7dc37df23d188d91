"""The course's first example, exactly as a student types it, as root and as baleinetest.

Needs Debian's mirror over plain http from the container (host network, the default)."""

import json
import os
import re
import shutil
import tarfile

import pytest

from .conftest import PATH_ENV, _new_engine

pytestmark = pytest.mark.slow

COURSE = """
docker run --name my-container --interactive debian:bookworm-slim bash - <<END
apt-get update &> /dev/null
apt-get install --yes --no-install-recommends git &> /dev/null
apt-get clean autoclean &> /dev/null; rm -rf /var/lib/apt/lists/*
END
docker commit my-container mygit:latest
docker run --rm mygit git --version
docker history mygit
docker container rm my-container
"""


def _mirror_reachable() -> bool:
    try:
        import urllib.request
        urllib.request.urlopen("http://deb.debian.org/debian/dists/bookworm/Release", timeout=10).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["root", "rootless"])
def test_course_example(mode, world_dir, kernel_copy, base_tarballs):
    if not _mirror_reachable():
        pytest.skip("Debian's mirror is not reachable")
    engine = _new_engine(world_dir, kernel_copy, mode)
    tarball = engine.path("debian.tar")
    shutil.copy(base_tarballs["debian:bookworm-slim"], tarball)
    engine.chown(tarball)
    engine("import", "--change", PATH_ENV, "--change", 'CMD ["bash"]', tarball, "debian:bookworm-slim")
    r = engine.script(COURSE, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", lines[0])
    image_id = lines[0]
    assert re.fullmatch(r"git version 2\.39\.\d+", lines[1])
    assert re.fullmatch(r"IMAGE +CREATED +CREATED BY +SIZE +COMMENT", lines[2])
    row = re.split(r"\s{3,}", lines[3])
    assert row[0] == image_id[7:19] and row[2] == "bash -"
    size = float(re.fullmatch(r"([\d.]+)MB", row[3]).group(1))
    assert 20 < size < 80                                             # git and its libraries
    assert lines[5] == "my-container"
    assert engine("ps", "-aq").stdout == ""
    # Owners in the committed layer, as Docker writes them: apt's partial dir belongs to _apt
    # (42), term.log to root:adm. Rootless, apt's chowns are faked (seccomp) and the monitor
    # records the owners asked for, which commit writes: the same headers.
    diff_id = json.loads(engine("image", "inspect", "-f", "{{json .RootFS.Layers}}", "mygit").stdout)[-1]
    with tarfile.open(os.path.join(engine.root, "images", "blobs", "sha256", diff_id[7:])) as tar:
        owners = {m.name: (m.uid, m.gid) for m in tar.getmembers() if (m.uid, m.gid) != (0, 0)}
    expected = {"var/cache/apt/archives/partial": (42, 0), "var/log/apt/term.log": (0, 4)}
    assert owners == expected
    removed = engine("image", "rm", "mygit").stdout.splitlines()
    assert removed[:2] == ["Untagged: mygit:latest", f"Deleted: {image_id}"]
