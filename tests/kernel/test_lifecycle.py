"""Kernelspec, kernel_info, restart, and pointing the kernel at another engine."""

import json
import os
import struct
import subprocess
import sys
import time

from .conftest import stdout_of


def test_kernelspec(kernelspec_prefix):
    folder = kernelspec_prefix / "share" / "jupyter" / "kernels" / "baleine"
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["display_name"] == "Baleine (docker)"
    assert spec["language"] == "bash"
    assert spec["argv"][1:4] == ["-P", "-m", "baleine.kernel"]
    assert "codemirror_mode" not in spec  # it belongs to language_info
    assert folder.stat().st_mode & 0o755 == 0o755  # readable by every user
    for size in (32, 64):
        data = (folder / f"logo-{size}x{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)


def test_install_options_parse(tmp_path):
    run = subprocess.run([sys.executable, "-m", "baleine.kernel", "install", "--help"],
                         capture_output=True, text=True)
    assert run.returncode == 0
    for option in ("--user", "--sys-prefix", "--prefix"):
        assert option in run.stdout


def test_kernel_info(kernel):
    info = kernel.request("kernel_info")
    assert info["language_info"]["name"] == "bash"
    assert info["language_info"]["codemirror_mode"] == "shell"
    assert info["implementation"] == "baleine"
    assert "docker = baleine" in info["banner"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_restart(start_kernel):
    k = start_kernel()
    reply, messages = k.run("export BEFORE=1; echo $$")
    old_bash = int(stdout_of(messages))
    k.km.restart_kernel(now=True)
    k.kc.wait_for_ready(timeout=60)
    reply, messages = k.run("echo ${BEFORE:-gone}; type -P docker")
    assert reply["status"] == "ok"
    lines = stdout_of(messages).splitlines()
    assert lines[0] == "gone" and "/.cache/baleine/kernel/" in lines[1]
    deadline = time.monotonic() + 5
    while _alive(old_bash) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(old_bash), "the old kernel's bash outlived it"


def test_engine_setting_points_docker_elsewhere(start_kernel, tmp_path):
    # A teacher compares with Podman: `docker` becomes podman (a stand-in on PATH here).
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "podman").write_text("#!/bin/sh\necho podman-stand-in \"$@\"\n")
    (fake / "podman").chmod(0o755)
    path = f"{fake}:{os.environ['PATH']}"
    k = start_kernel(BALEINE_KERNEL_ENGINE="podman", PATH=path)
    reply, messages = k.run("docker ps -a")
    assert stdout_of(messages) == "podman-stand-in ps -a\n"
    k = start_kernel(BALEINE_KERNEL_ENGINE="docker", PATH=f"{fake}:/usr/local/bin:/usr/bin:/bin")
    reply, messages = k.run("type -P docker || echo none")
    assert stdout_of(messages) in ("/usr/local/bin/docker\n", "none\n")


def test_root_per_notebook(start_kernel, tmp_path):
    k = start_kernel(BALEINE_KERNEL_ROOT=".baleine")
    reply, messages = k.run("echo $BALEINE_ROOT")
    assert stdout_of(messages) == f"{tmp_path}/.baleine\n"


def test_html_setting_for_every_cell(start_kernel):
    k = start_kernel(BALEINE_KERNEL_HTML="1")
    reply, messages = k.run("printf 'CONTAINER ID   IMAGE     NAMES\\nabc123         alpine    jolly\\n'")
    data = [c["data"] for _, kind, c in messages if kind == "display_data"]
    assert len(data) == 1 and "<td>jolly</td>" in data[0]["text/html"]
    assert data[0]["text/plain"] == "CONTAINER ID   IMAGE     NAMES\nabc123         alpine    jolly\n"
