"""Tab completion and shift-tab inspection, through complete_request/inspect_request."""

import subprocess
import sys
import tarfile

import pytest

from .conftest import stdout_of


def complete(kernel, code: str, cursor: int | None = None) -> dict:
    cursor = len(code) if cursor is None else cursor
    return kernel.request("complete", code, cursor)


def test_docker_subcommands(kernel):
    reply = complete(kernel, "docker ima")
    assert reply["status"] == "ok"
    assert {"image", "images"} <= set(reply["matches"])
    assert reply["cursor_start"] == len("docker ")
    assert "ls" in complete(kernel, "docker image l")["matches"]
    assert "volume" in complete(kernel, "echo hi | docker vol")["matches"]


def test_docker_flags(kernel):
    matches = complete(kernel, "docker images --q")["matches"]
    assert matches == ["--quiet"]
    assert "--rm" in complete(kernel, "docker run --r")["matches"]
    assert "--tag" in complete(kernel, "docker build --t")["matches"]


def test_paths_commands_and_variables(kernel, tmp_path):
    (tmp_path / "alpha.txt").write_text("a")
    (tmp_path / "alps").mkdir()
    matches = complete(kernel, f"cat {tmp_path}/al")["matches"]
    assert matches == [f"{tmp_path}/alpha.txt", f"{tmp_path}/alps/"]
    assert f"{tmp_path}/alpha.txt" in complete(kernel, f"docker build -f {tmp_path}/alp")["matches"]
    assert "echo" in complete(kernel, "ech")["matches"]
    kernel.run("export KERNEL_TEST_VARIABLE=1")
    assert "$KERNEL_TEST_VARIABLE" in complete(kernel, "echo $KERNEL_TEST_VAR")["matches"]


def test_completion_keeps_the_status(kernel):
    kernel.run("false")
    complete(kernel, "docker ima")
    complete(kernel, "cat /nonexist")
    reply, messages = kernel.run("echo $?")
    assert stdout_of(messages) == "1\n" and reply["status"] == "ok"


@pytest.fixture(scope="module")
def imported_image(kernel, tmp_path_factory):
    """A tiny image made with `docker import` in the test engine root."""
    folder = tmp_path_factory.mktemp("rootfs")
    (folder / "hello.txt").write_text("hello\n")
    tar = folder / "rootfs.tar"
    with tarfile.open(tar, "w") as t:
        t.add(folder / "hello.txt", arcname="hello.txt")
    reply, messages = kernel.run(f"docker import {tar} kernel-test/tiny:1.0")
    if reply["status"] != "ok":
        pytest.skip(f"docker import does not work yet: {stdout_of(messages)}")
    return "kernel-test/tiny:1.0"


def test_image_names(kernel, imported_image):
    assert imported_image in complete(kernel, "docker run kernel-te")["matches"]
    assert imported_image in complete(kernel, "docker image rm kernel-")["matches"]
    assert imported_image in complete(kernel, "docker history ")["matches"]


def test_inspect_shows_docker_help(kernel):
    reply = kernel.request("inspect", "docker images", len("docker ima"))
    assert reply["found"] is True
    text = reply["data"]["text/plain"]
    assert "Usage:" in text and "images" in text
    reply = kernel.request("inspect", "cd /tmp", 1)
    assert reply["found"] and "cd" in reply["data"]["text/plain"]


def test_static_table_and_cli_agree():
    from baleine.kernel import dockerwords
    table = dockerwords.table()
    for path in ("run", "build", "ps", "images", "image ls", "volume ls", "network create"):
        assert path in table
    help_ = subprocess.run([sys.executable, "-m", "baleine", "images", "--help"],
                           capture_output=True, text=True)
    if help_.returncode == 0:  # every flag baleine documents is offered
        for flag in ("--all", "--quiet", "--format"):
            if flag in help_.stdout:
                assert flag in table["images"]


def test_container_names(kernel, busybox):
    reply, messages = kernel.run(f"docker rm -f kernel-named >/dev/null 2>&1; docker create --name kernel-named {busybox} true")
    assert reply["status"] == "ok", stdout_of(messages)
    assert "kernel-named" in complete(kernel, "docker rm kernel-na")["matches"]
    assert "kernel-named" in complete(kernel, "docker container start kernel-")["matches"]


def test_flag_values_and_positions(kernel, busybox):
    # `--name x` is a flag and its value: the image is still the next word.
    assert busybox in complete(kernel, "docker run --rm --name web -v /tmp:/w kernel-bu")["matches"]
    reply, messages = kernel.run("docker network ls --format '{{.Name}}'")
    networks = stdout_of(messages).split()
    if reply["status"] == "ok" and "bridge" in networks:
        assert "bridge" in complete(kernel, "docker run --network br")["matches"]
    reply, _ = kernel.run("docker volume create kernel-vol >/dev/null")
    if reply["status"] == "ok":
        assert "kernel-vol" in complete(kernel, "docker run -v kernel-")["matches"]
        assert "kernel-vol" in complete(kernel, "docker volume rm kernel-")["matches"]
    assert complete(kernel, "docker run --name we")["matches"] == []
