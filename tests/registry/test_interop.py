"""Interop with the reference tools: what baleine pushes, skopeo and podman pull and run; what
podman pushes, baleine pulls with the same image ID and history.

Containers are run by podman rootless as the unprivileged user `baleinetest` with runc (root
podman cannot start containers on this machine; see tests/interop/test_podman.py)."""

import json
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from tests.registry.helpers import repo_name

pytestmark = pytest.mark.skipif(shutil.which("podman") is None or shutil.which("skopeo") is None,
                                reason="podman and skopeo are installed by scripts/setup")


def podman_user(*args):
    return subprocess.run(["runuser", "-u", "baleinetest", "--", "sh", "-c",
                           'cd "$HOME" && exec podman --runtime runc "$@"', "podman", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def podman_root(storage, *args):
    proc = subprocess.run(["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
                           "--storage-driver", "vfs", *args], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr}"
    return proc


def test_baleine_push_then_skopeo_inspect_and_podman_run(reg_docker, registry):
    name = f"{registry.host}/{repo_name()}:1"
    reg_docker("tag", "busybox", name)
    digest = reg_docker("push", name).out_lines[-1].split()[2]
    inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{name}"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert inspect.returncode == 0, inspect.stderr
    info = json.loads(inspect.stdout)
    assert info["Digest"] == digest
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{name}"],
                         capture_output=True, text=True, timeout=60, check=False)
    manifest = json.loads(raw.stdout)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"

    pulled = podman_user("pull", "--tls-verify=false", name)
    assert pulled.returncode == 0, pulled.stderr
    try:
        run = podman_user("run", "--rm", "--network=none", name, "sh", "-c", "echo hello from $(uname -s)")
        assert run.returncode == 0, run.stderr
        assert run.stdout == "hello from Linux\n"
        their_id = podman_user("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
        assert "sha256:" + their_id == reg_docker("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
    finally:
        podman_user("rmi", "-f", name)


@pytest.fixture
def podman_storage():
    """A private root podman store (its runroot path must stay under 50 characters)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="bpod-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_podman_push_then_baleine_pull_same_id_and_history(reg_docker, fresh, registry, tmp_path, podman_storage):
    storage = podman_storage
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "hello.txt").write_text("hello\n")
    (context / "Dockerfile").write_text(
        "FROM busybox\nLABEL org.example=demo\nENV GREETING=salut\nWORKDIR /app\nCOPY hello.txt ./\n"
        'CMD ["cat", "hello.txt"]\n')
    reg_docker("save", "-o", str(tmp_path / "base.tar"), "busybox")
    podman_root(storage, "load", "-i", str(tmp_path / "base.tar"))
    podman_root(storage, "build", "--format", "docker", "-t", "demo:1", str(context))
    name = f"{registry.host}/{repo_name()}:1"
    podman_root(storage, "push", "--tls-verify=false", "demo:1", f"docker://{name}")

    out = fresh("pull", name).out_lines
    assert out[-2:] == [f"Status: Downloaded newer image for {name}", name]
    fmt = "{{.CreatedBy}}|{{.Comment}}"
    ours = fresh("history", "--no-trunc", "--format", fmt, name).out_lines
    theirs = podman_root(storage, "history", "--no-trunc", "--format", fmt, "demo:1").stdout.splitlines()
    assert ours == theirs and len(ours) >= 5
    our_id = fresh("images", "--no-trunc", "-q", name).stdout.strip()
    their_id = podman_root(storage, "images", "--no-trunc", "-q", "demo:1").stdout.strip()
    assert our_id == their_id
    assert "OK" in fresh("system", "check").stdout
    assert fresh("run", "--rm", name).stdout == "hello\n"  # CMD cat hello.txt in WORKDIR /app
    # Its base, pushed by podman too, shares the (podman-compressed) busybox layer.
    base = f"{registry.host}/{repo_name()}:base"
    podman_root(storage, "push", "--tls-verify=false", "busybox", f"docker://{base}")
    lines = fresh("pull", base).out_lines
    assert lines[1].endswith(": Already exists") and "Pulling fs layer" not in "".join(lines), lines
    # And back: baleine pushes the pulled image unchanged (same manifest digest).
    again = f"{registry.host}/{repo_name()}:copy"
    fresh("tag", name, again)
    pushed = fresh("push", again).out_lines
    assert pushed[-1].split()[2] == out[-3].split()[1]
    assert any(line.endswith(f": Mounted from {name.split('/', 1)[1].split(':')[0]}") for line in pushed), pushed


def test_skopeo_copy_from_baleines_layout_then_baleine_pull(reg_docker, fresh, registry):
    """skopeo reads Baleine's store (an OCI layout), pushes it; baleine pulls the same image."""
    name = f"{registry.host}/{repo_name()}:sk"
    copy = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                           f"oci:{reg_docker.root}/images:docker.io/library/busybox:latest", f"docker://{name}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert copy.returncode == 0, copy.stderr
    assert fresh("pull", name).out_lines[-1] == name
    fmt = "{{.Id}} {{.Size}} {{json .Config.Cmd}}"
    assert fresh("image", "inspect", "--format", fmt, name).stdout == \
        reg_docker("image", "inspect", "--format", fmt, "busybox").stdout
    assert fresh("run", "--rm", name, "echo", "ok").stdout == "ok\n"
