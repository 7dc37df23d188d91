"""Fixtures for the runtime tests: real rootfs trees, real bundles, real processes.

Everything is run through `python -m baleine.runtime` in a subprocess, as root and as
the unprivileged user `baleinetest` (no /etc/subuid range: single-uid user namespace).
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(REPO, "kernel")
PYTHON = sys.executable
TEST_USER = "baleinetest"
BUSYBOX = "/bin/busybox"

sys.path.insert(0, KERNEL)


def _have_busybox() -> bool:
    return os.path.exists(BUSYBOX)


def ensure_test_user() -> None:
    """`baleinetest` with no subuid/subgid range (only a single-uid user namespace)."""
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", TEST_USER], check=True)
    for path in ("/etc/subuid", "/etc/subgid"):
        if os.path.exists(path):
            with open(path) as f:
                lines = f.readlines()
            kept = [line for line in lines if not line.startswith(TEST_USER + ":")]
            if kept != lines:
                with open(path, "w") as f:
                    f.writelines(kept)


def make_busybox_rootfs(path: str) -> str:
    """A rootfs of Debian's busybox-static: /bin/busybox, applet symlinks, passwd/group."""
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/bob"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        link = os.path.join(path, "bin", applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000:Bob:/home/bob:/bin/sh\n"
                "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\ndaemon:x:1:\nbob:x:1000:\nstaff:x:50:bob\nusers:x:100:bob,alice\n")
    with open(os.path.join(path, "etc", "notexec"), "w") as f:
        f.write("#!/bin/sh\necho no\n")
    return path


class Runner:
    """Builds bundles and runs the runtime as root or as the test user."""

    def __init__(self, base: str, mode: str, rootfs: str, kernel: str):
        self.base = base
        self.mode = mode
        self.rootfs = rootfs
        self.kernel = kernel
        self.state_root = os.path.join(base, "state")
        self.count = 0

    @property
    def rootless(self) -> bool:
        return self.mode == "rootless"

    def bundle(self, args, *, rootfs=None, mutate=None, **spec_kwargs) -> str:
        from baleine.runtime.spec import default_spec
        self.count += 1
        path = os.path.join(self.base, f"bundle{self.count}")
        os.makedirs(path)
        spec = default_spec(list(args), rootfs=rootfs or self.rootfs, rootless=self.rootless,
                            **spec_kwargs)
        if self.rootless:
            user = pwd.getpwnam(TEST_USER)
            spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": user.pw_uid, "size": 1}]
            spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": user.pw_gid, "size": 1}]
        if mutate:
            mutate(spec)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(spec, f, indent=1)
        if self.rootless:
            shutil.chown(path, TEST_USER)
        return path

    def command(self, *args) -> list[str]:
        cmd = [PYTHON, "-m", "baleine.runtime", "--root", self.state_root, *args]
        env = ["env", f"PYTHONPATH={self.kernel}", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        if self.rootless:
            return ["runuser", "-u", TEST_USER, "--", *env, *cmd]
        return [*env, *cmd]

    def run(self, bundle, cid=None, *, input=None, timeout=60, stdin=None):
        self.count += 1
        cid = cid or f"c{self.count}"
        kwargs = {"input": input} if input is not None else {"stdin": stdin or subprocess.DEVNULL}
        return subprocess.run(self.command("run", "-b", bundle, cid), capture_output=True,
                              text=True, timeout=timeout, **kwargs)

    def popen(self, *args, **kwargs):
        return subprocess.Popen(self.command(*args), **kwargs)

    def state(self, cid) -> dict:
        out = subprocess.run(self.command("state", cid), capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def wait_running(self, cid, timeout=10.0) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                st = self.state(cid)
                if st.get("status") == "running":
                    return st
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"container {cid} never ran")


@pytest.fixture(scope="session")
def world_dir():
    """A temp dir the test user can reach (pytest's tmp_path is 0700 root)."""
    base = tempfile.mkdtemp(prefix="baleine-rt-", dir="/tmp")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def kernel_copy(world_dir):
    """The package copied world-readable, importable by the test user."""
    dest = os.path.join(world_dir, "kernel")
    shutil.copytree(KERNEL, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return dest


@pytest.fixture(scope="session")
def busybox_rootfs(world_dir):
    if not _have_busybox():
        pytest.skip("busybox-static is not installed")
    return make_busybox_rootfs(os.path.join(world_dir, "busybox-root"))


def _require_root():
    if os.geteuid() != 0:
        pytest.skip("these tests run as root (and use runuser for the unprivileged user)")


@pytest.fixture(params=["root", "rootless"])
def runner(request, world_dir, kernel_copy, busybox_rootfs):
    _require_root()
    mode = request.param
    base = tempfile.mkdtemp(prefix=f"{mode}-", dir=world_dir)
    os.chmod(base, 0o755)
    rootfs = busybox_rootfs
    if mode == "rootless":
        ensure_test_user()
        rootfs = os.path.join(base, "rootfs")
        shutil.copytree(busybox_rootfs, rootfs, symlinks=True)
        subprocess.run(["chown", "-hR", TEST_USER + ":", base], check=True)
    yield Runner(base, mode, rootfs, kernel_copy)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def root_runner(world_dir, kernel_copy, busybox_rootfs):
    _require_root()
    base = tempfile.mkdtemp(prefix="root-", dir=world_dir)
    os.chmod(base, 0o755)
    yield Runner(base, "root", busybox_rootfs, kernel_copy)
    shutil.rmtree(base, ignore_errors=True)
