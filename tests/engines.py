"""The CLI as root and as the unprivileged user `baleinetest`, each with busybox in its store
(shared by tests/network and tests/volumes)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

TEST_USER = "baleinetest"
PYTHON = "/opt/baleine/venv/bin/python" if os.path.exists("/opt/baleine/venv/bin/python") else sys.executable


class Engine:
    """`engine("run", ...)` runs `docker run ...` as root or as the test user."""

    def __init__(self, mode: str, base: str, kernel: str):
        self.mode, self.base, self.kernel = mode, base, kernel
        self.root = os.path.join(base, "root")
        self.env = {"BALEINE_ROOT": self.root, "PYTHONPATH": kernel, "TZ": "UTC", "HOME": base,
                    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

    @property
    def rootless(self) -> bool:
        return self.mode == "rootless"

    def command(self, *args: str) -> list[str]:
        env = ["env", "-i", *[f"{k}={v}" for k, v in self.env.items()]]
        cmd = [*env, PYTHON, "-m", "baleine", *args]
        return ["runuser", "-u", TEST_USER, "--", *cmd] if self.rootless else cmd

    def __call__(self, *args: str, check: bool = True, timeout: float = 60, input: str | None = None):
        proc = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout, check=False,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
        return proc

    def inspect(self, what: str) -> dict:
        return json.loads(self("inspect", what).stdout)[0]

    def sandbox(self) -> dict | None:
        try:
            with open(os.path.join(self.root, "netns", "sandbox.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None


def make_engine(mode: str, world: str, kernel: str, busybox_store: str) -> Engine:
    base = tempfile.mkdtemp(prefix=f"{mode}-", dir=world)
    os.chmod(base, 0o755)
    engine = Engine(mode, base, kernel)
    os.makedirs(engine.root)
    for name in ("images", "images.lock"):  # layers are unpacked by their user, on first use
        source = os.path.join(busybox_store, name)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(engine.root, name), symlinks=True)
        elif os.path.exists(source):
            shutil.copy2(source, os.path.join(engine.root, name))
    if engine.rootless:
        subprocess.run(["chown", "-hR", f"{TEST_USER}:", base], check=True)
    return engine


def ensure_test_user() -> None:
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", TEST_USER], check=True)


def world_kernel(world: str, kernel: str) -> str:
    dest = os.path.join(world, "kernel")
    shutil.copytree(kernel, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for dirpath, _, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    """A live process (zombies left to a PID 1 that does not reap count as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
