"""Interop with podman, the reference implementation on this machine.

Podman as root cannot start containers here (crun refuses hybrid cgroups and runc cannot set
RLIMIT_NPROC in this sandbox), so containers are run by podman rootless as the unprivileged
test user, with runc: the same path a student without root would take.
"""

import os
import pathlib
import shutil
import tempfile
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is installed by scripts/setup")


def podman_root(storage, *args, **kwargs):
    """Root podman with a private store (its runroot path must stay under 50 characters)."""
    proc = subprocess.run(["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
                           "--storage-driver", "vfs", *args], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr}"
    return proc


@pytest.fixture
def shared_tmp():
    """A directory the unprivileged user can read (pytest's own tmp dirs are private)."""
    path = tempfile.mkdtemp(prefix="baleine-interop-")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def podman_user(*args):
    return subprocess.run(["runuser", "-u", "baleinetest", "--", "sh", "-c",
                           'cd "$HOME" && exec podman --runtime runc "$@"', "podman", *args],
                          capture_output=True, text=True)


def test_saved_image_loads_and_runs_in_podman(busybox, shared_tmp):
    archive = shared_tmp / "busybox.tar"
    busybox("tag", "busybox", f"interop/{uuid.uuid4().hex[:8]}:1")
    name = busybox("images", "--format", "{{.Repository}}:{{.Tag}}", "interop/*").stdout.strip()
    busybox("save", "-o", str(archive), name)
    os.chmod(archive, 0o644)
    loaded = podman_user("load", "-i", str(archive))
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image: docker.io/{name}" in loaded.stdout
    try:
        run = podman_user("run", "--rm", "--network=none", name, "sh", "-c", "echo hello from $(uname -s)")
        assert run.returncode == 0, run.stderr
        assert run.stdout == "hello from Linux\n"
        # Same image ID on both sides: the config bytes travelled unchanged.
        pid = podman_user("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
        assert "sha256:" + pid == busybox("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
    finally:
        podman_user("rmi", "-f", name)


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_saved_image_loads_with_the_same_history(busybox, tmp_path, shared_tmp, fmt):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "hello.txt").write_text("hello\n")
    (context / "Dockerfile").write_text(
        "FROM busybox\nLABEL org.example=demo\nENV GREETING=salut\nWORKDIR /app\nCOPY hello.txt ./\n"
        'CMD ["cat", "hello.txt"]\n')
    busybox("save", "-o", str(tmp_path / "base.tar"), "busybox")
    podman_root(shared_tmp, "load", "-i", str(tmp_path / "base.tar"))
    podman_root(shared_tmp, "build", "--format", "docker", "-t", "demo:1", str(context))
    archive = tmp_path / "demo.tar"
    podman_root(shared_tmp, "save", "--format", fmt, "-o", str(archive), "demo:1")
    out = busybox("load", "-i", str(archive)).stdout
    assert out == "Loaded image: localhost/demo:1\n"  # podman qualifies short names with localhost/
    fmt_rows = "{{.CreatedBy}}|{{.Comment}}"
    ours = busybox("history", "--no-trunc", "--format", fmt_rows, "localhost/demo:1").stdout.splitlines()
    theirs = podman_root(shared_tmp, "history", "--no-trunc", "--format", fmt_rows, "demo:1").stdout.splitlines()
    assert ours == theirs and len(ours) >= 5
    our_id = busybox("images", "--no-trunc", "-q", "localhost/demo:1").stdout.strip()
    if fmt == "docker-archive":  # an oci-archive carries a converted config, hence another ID
        their_id = podman_root(shared_tmp, "images", "--no-trunc", "-q", "demo:1").stdout.strip()
        assert our_id == their_id
    assert busybox("system", "check").returncode == 0
