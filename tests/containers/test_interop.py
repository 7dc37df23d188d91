"""Interop with podman (rootless, as baleinetest, with runc: root podman cannot start
containers on this machine): a baleine commit runs in podman, a podman image runs in baleine."""

import os
import shutil
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is installed by scripts/setup")


def podman(*args, timeout=120):
    return subprocess.run(["runuser", "-u", "baleinetest", "--", "sh", "-c",
                           'cd "$HOME" && exec podman --runtime runc "$@"', "podman", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def _engine(request, mode):
    from .conftest import _new_engine
    world_dir = request.getfixturevalue("world_dir")
    kernel_copy = request.getfixturevalue("kernel_copy")
    stores = request.getfixturevalue("busybox_stores")
    eng = _new_engine(world_dir, kernel_copy, mode)
    cmd = ["cp", "-a", stores[mode], eng.root]
    if mode == "rootless":
        cmd = ["runuser", "-u", "baleinetest", "--", *cmd]
    subprocess.run(cmd, check=True)
    return eng


@pytest.mark.parametrize("mode", ["root", "rootless"])
def test_baleine_commit_runs_in_podman(mode, request):
    engine = _engine(request, mode)
    name = f"interop/commit-{uuid.uuid4().hex[:8]}:1"
    engine("run", "--name", "src", "busybox", "sh", "-c",
           "mkdir /app && echo 'made by baleine' > /app/msg && rm /etc/group")
    engine("commit", "-c", 'CMD ["cat", "/app/msg"]', "src", name)
    archive = engine.path("commit.tar")
    engine("save", "-o", archive, name)
    os.chmod(archive, 0o644)
    loaded = podman("load", "-i", archive)
    assert loaded.returncode == 0, loaded.stderr
    try:
        run = podman("run", "--rm", "--network=none", name)
        assert (run.returncode, run.stdout) == (0, "made by baleine\n"), run.stderr
        run = podman("run", "--rm", "--network=none", name, "sh", "-c", "ls /etc/group 2>&1 || true")
        assert "No such file" in run.stdout          # the whiteout applied
        theirs = podman("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
        assert "sha256:" + theirs == engine("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
    finally:
        podman("rmi", "-f", name)


@pytest.mark.parametrize("mode", ["root", "rootless"])
def test_podman_image_runs_in_baleine(mode, request):
    engine = _engine(request, mode)
    base = engine.path("base.tar")
    engine("save", "-o", base, "busybox")
    os.chmod(base, 0o644)
    tag = f"interop/podman-{uuid.uuid4().hex[:8]}"
    assert podman("load", "-i", base).returncode == 0
    cname = "c" + uuid.uuid4().hex[:8]
    try:
        made = podman("run", "--name", cname, "--network=none", "busybox", "sh", "-c",
                      "echo 'made by podman' > /msg && rm /etc/passwd")
        assert made.returncode == 0, made.stderr
        committed = podman("commit", "--format", "docker", "--change", 'CMD ["cat", "/msg"]', cname, tag)
        assert committed.returncode == 0, committed.stderr
        out = engine.path("podman.tar")
        saved = podman("save", "-o", "/tmp/" + os.path.basename(out) + cname, tag)
        assert saved.returncode == 0, saved.stderr
        shutil.move("/tmp/" + os.path.basename(out) + cname, out)
        engine.chown(out)
        assert engine("load", "-i", out).stdout == f"Loaded image: localhost/{tag}:latest\n"
        assert engine("run", "--rm", f"localhost/{tag}").stdout == "made by podman\n"
        r = engine("run", "--rm", f"localhost/{tag}", "cat", "/etc/passwd", check=False)
        assert r.returncode == 1 and "No such file" in r.stderr
    finally:
        podman("rm", "-f", cname)
        podman("rmi", "-f", tag)
