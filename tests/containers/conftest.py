"""Container tests run the CLI as root and as the unprivileged `baleinetest` user.

`engine` is parametrized: the same test runs twice, once as root and once rootless (a
user with no subuid range, so a single-uid user namespace). The rootless side runs a
world-readable copy of the package with `runuser`, against a store that user owns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(REPO, "kernel")
TEST_USER = "baleinetest"
PYTHON = sys.executable
PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    @property
    def out_lines(self) -> list[str]:
        return self.stdout.splitlines()


class Engine:
    """`docker ...` as one user; `.script(text)` runs a bash script whose `docker` is us."""

    def __init__(self, root: str, mode: str, kernel: str):
        self.root = root
        self.mode = mode
        self.kernel = kernel
        self.env = {"BALEINE_ROOT": root, "PYTHONPATH": kernel, "TZ": "UTC", "PYTHONDONTWRITEBYTECODE": "1",
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": os.path.expanduser("~" + TEST_USER) if mode == "rootless" else os.environ.get("HOME", "/root"),
                    "LANG": "C.UTF-8"}

    @property
    def rootless(self) -> bool:
        return self.mode == "rootless"

    def argv(self, *args: str) -> list[str]:
        env = ["env", "-i", *(f"{k}={v}" for k, v in self.env.items())]
        base = [*env, PYTHON, "-m", "baleine", *args]
        return ["runuser", "-u", TEST_USER, "--", *base] if self.rootless else base

    def __call__(self, *args: str, input: bytes | str | None = None, check: bool = True,
                 timeout: float = 120, cwd: str | None = None) -> Result:
        text = not isinstance(input, bytes)
        proc = subprocess.run(self.argv(*args), input=input, capture_output=True, text=text,
                              timeout=timeout, cwd=cwd or "/tmp", check=False)
        out, err = proc.stdout, proc.stderr
        if not text:
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
        result = Result(proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise AssertionError(f"[{self.mode}] docker {' '.join(args)} failed ({proc.returncode}):\n{err}{out}")
        return result

    def raw(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("cwd", "/tmp")
        return subprocess.run(self.argv(*args), capture_output=True, **kwargs, check=False)

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("cwd", "/tmp")
        return subprocess.Popen(self.argv(*args), **kwargs)

    def script(self, text: str, timeout: float = 300) -> Result:
        """A bash script where `docker` runs Baleine as this user."""
        prelude = f'docker() {{ {PYTHON} -m baleine "$@"; }}\nset -e\n'
        cmd = ["env", "-i", *(f"{k}={v}" for k, v in self.env.items()), "bash", "-c", prelude + text]
        if self.rootless:
            cmd = ["runuser", "-u", TEST_USER, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/tmp", check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def path(self, *parts: str) -> str:
        """A scratch path both this user and the tests can use."""
        return os.path.join(os.path.dirname(self.root), *parts)

    def chown(self, path: str) -> None:
        if self.rootless:
            subprocess.run(["chown", "-R", TEST_USER + ":", path], check=True)

    def wait_for(self, predicate, timeout: float = 10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("timed out")


def ensure_test_user() -> None:
    import pwd
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", TEST_USER], check=True)


@pytest.fixture(scope="session")
def world_dir():
    base = tempfile.mkdtemp(prefix="baleine-ct-", dir="/tmp")
    os.chmod(base, 0o755)
    yield base
    # Rootless stores hold overlay work dirs only their owner can remove (from a namespace).
    subprocess.run(["rm", "-rf", base], check=False)


@pytest.fixture(scope="session")
def kernel_copy(world_dir):
    dest = os.path.join(world_dir, "kernel")
    shutil.copytree(KERNEL, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for dirpath, _, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    subprocess.run([PYTHON, "-m", "compileall", "-q", dest], check=True)
    for dirpath, _, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return dest


def _new_engine(world_dir, kernel_copy, mode) -> Engine:
    if os.geteuid() != 0:
        pytest.skip("container tests run as root (and use runuser for the unprivileged user)")
    base = tempfile.mkdtemp(prefix=f"{mode}-", dir=world_dir)
    os.chmod(base, 0o755)
    if mode == "rootless":
        ensure_test_user()
        shutil.chown(base, TEST_USER)
    return Engine(os.path.join(base, "root"), mode, kernel_copy)


@pytest.fixture(scope="session")
def busybox_tar(world_dir, base_tarballs):
    path = os.path.join(world_dir, "busybox.tar")
    shutil.copy(base_tarballs["busybox:latest"], path)
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="session")
def busybox_stores(world_dir, kernel_copy, busybox_tar):
    """One store per mode holding busybox:latest (imported once; copied per test)."""
    stores = {}
    for mode in ("root", "rootless"):
        engine = _new_engine(world_dir, kernel_copy, mode)
        engine("import", "--change", 'CMD ["sh"]', "--change", PATH_ENV, busybox_tar, "busybox:latest")
        engine("create", "--name", "warmup", "busybox")  # unpacks the layer once
        engine("rm", "warmup")
        stores[mode] = engine.root
    return stores


@pytest.fixture(params=["root", "rootless"])
def engine(request, world_dir, kernel_copy, busybox_stores) -> Engine:
    """The CLI as root or as baleinetest, with busybox:latest in its store."""
    mode = request.param
    eng = _new_engine(world_dir, kernel_copy, mode)
    cmd = ["cp", "-a", busybox_stores[mode], eng.root]
    if mode == "rootless":
        cmd = ["runuser", "-u", TEST_USER, "--", *cmd]
    subprocess.run(cmd, check=True)
    yield eng
    # Leave no container running behind.
    ids = eng.raw("ps", "-q").stdout.split()
    if ids:
        eng.raw("rm", "-f", *[i.decode() for i in ids])


@pytest.fixture
def root_engine(world_dir, kernel_copy, busybox_stores) -> Engine:
    eng = _new_engine(world_dir, kernel_copy, "root")
    subprocess.run(["cp", "-a", busybox_stores["root"], eng.root], check=True)
    return eng
