"""Fixtures shared by every test: a private store, the CLI as a subprocess, base images."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(REPO, "kernel")


def _base_images_module():
    spec = importlib.util.spec_from_file_location("base_images", os.path.join(REPO, "scripts", "base_images.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def out_lines(self) -> list[str]:
        return self.stdout.splitlines()


class Docker:
    """Runs `python -m baleine ...` as a user would, against one store."""

    def __init__(self, root: str):
        self.root = root
        # Hermetic: the machine's own settings (a classroom mirror, logins) never leak in.
        self.env = dict(os.environ, BALEINE_ROOT=root, PYTHONPATH=KERNEL, TZ="UTC",
                        XDG_CONFIG_HOME=root + "-config", DOCKER_CONFIG=root + "-docker")

    def __call__(self, *args: str, input: bytes | str | None = None, check: bool = True,
                 timeout: float = 300, cwd: str | None = None) -> Result:
        text = not isinstance(input, bytes)
        proc = subprocess.run([sys.executable, "-m", "baleine", *args], input=input, env=self.env,
                              capture_output=True, text=text, timeout=timeout, cwd=cwd)
        out, err = proc.stdout, proc.stderr
        if not text:
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
        result = Result(proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{err}{out}")
        return result

    def raw(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "baleine", *args], env=self.env,
                              capture_output=True, **kwargs)


@pytest.fixture
def docker(tmp_path) -> Docker:
    return Docker(str(tmp_path / "root"))


@pytest.fixture(scope="session")
def base_tarballs() -> dict[str, str]:
    """The cached base-image tarballs (built on first use, as scripts/setup does)."""
    module = _base_images_module()
    os.makedirs(module.CACHE, exist_ok=True)
    paths = {}
    for ref, filename, build, _changes, _description in module.IMAGES:
        path = os.path.join(module.CACHE, filename)
        if not os.path.exists(path):
            build(path)
        paths[ref] = path
    return paths


@pytest.fixture(scope="session")
def busybox_store(tmp_path_factory, base_tarballs) -> str:
    """A store holding the busybox stand-in, imported once; copy it per test with `store_copy`."""
    root = str(tmp_path_factory.mktemp("busybox-store") / "root")
    Docker(root)("import", "--change", 'CMD ["sh"]', "--change",
                 "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 base_tarballs["busybox:latest"], "busybox:latest")
    return root


@pytest.fixture
def busybox(docker, busybox_store) -> Docker:
    """`docker` with busybox:latest already in its store."""
    shutil.copytree(busybox_store, docker.root, symlinks=True)
    return docker


# -- the engine as root and as the unprivileged user (network and volume tests) ------------------

@pytest.fixture(scope="session")
def world():
    """A world-readable scratch directory: the unprivileged user must reach the store and code."""
    import tempfile
    base = tempfile.mkdtemp(prefix="baleine-world-", dir="/tmp")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def kernel_copy(world):
    from tests.engines import world_kernel
    return world_kernel(world, KERNEL)


@pytest.fixture(params=["root", "rootless"])
def engine(request, world, kernel_copy, busybox_store):
    from tests.engines import ensure_test_user, make_engine
    if os.geteuid() != 0:
        pytest.skip("run as root (the unprivileged user is reached with runuser)")
    if request.param == "rootless":
        ensure_test_user()
    e = make_engine(request.param, world, kernel_copy, busybox_store)
    yield e
    # Whatever a failed test left running goes.
    ids = e("ps", "-aq", check=False).stdout.split()
    if ids:
        e("rm", "-f", *ids, check=False)
