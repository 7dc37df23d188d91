"""Helpers for the layers tests: build tars member by member, watch the world outside a root."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from baleine.layers import walk


def d(name, mode=0o755, uid=0, gid=0, mtime=1_600_000_000, **kw):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, mode, uid, gid, mtime
    return _extra(info, kw), None


def f(name, data=b"", mode=0o644, uid=0, gid=0, mtime=1_600_000_000, **kw):
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid, info.mtime, info.size = mode, uid, gid, mtime, len(data)
    return _extra(info, kw), data


def sym(name, target, uid=0, gid=0, mtime=1_600_000_000):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.uid, info.gid, info.mtime = (
        tarfile.SYMTYPE, target, 0o777, uid, gid, mtime)
    return info, None


def hl(name, target, mode=0o644, uid=0, gid=0, mtime=1_600_000_000):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.uid, info.gid, info.mtime = (
        tarfile.LNKTYPE, target, mode, uid, gid, mtime)
    return info, None


def fifo(name, mode=0o644, mtime=1_600_000_000):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.FIFOTYPE, mode, mtime
    return info, None


def dev(name, major, minor, mode=0o666, block=False, mtime=1_600_000_000):
    info = tarfile.TarInfo(name)
    info.type = tarfile.BLKTYPE if block else tarfile.CHRTYPE
    info.devmajor, info.devminor, info.mode, info.mtime = major, minor, mode, mtime
    return info, None


def _extra(info, kw):
    xattrs = kw.pop("xattrs", None)
    if xattrs:
        info.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
    assert not kw, kw
    return info


def layer(*members, fmt=tarfile.PAX_FORMAT) -> io.BytesIO:
    """An uncompressed layer tar holding `members`, in this order, names untouched."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    buf.seek(0)
    return buf


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return tf.getmembers()


def snapshot(top: str, skip: str) -> dict:
    """Everything under `top` except the tree `skip`: path -> (type/mode, size, mtime, nlink)."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if os.path.abspath(dirpath) == os.path.abspath(skip):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.abspath(p) == os.path.abspath(skip):
                continue
            st = os.lstat(p)
            state[p] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink)
    return state


class Arena:
    """A root to extract into, next to an `outside` directory that must never change."""

    def __init__(self, base):
        self.base = str(base)
        self.layer_dir = os.path.join(self.base, "layer")  # holds root and its sidecar
        self.root = os.path.join(self.layer_dir, "diff")
        self.outside = os.path.join(self.base, "outside")
        os.makedirs(self.root)
        os.mkdir(self.outside)
        with open(os.path.join(self.outside, "secret"), "w") as fh:
            fh.write("host secret\n")
        self.before = snapshot(self.base, self.layer_dir)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def assert_outside_untouched(self):
        assert snapshot(self.base, self.layer_dir) == self.before
        with open(os.path.join(self.outside, "secret")) as fh:
            assert fh.read() == "host secret\n"


@pytest.fixture(params=["openat2", "emulated"])
def resolver(request, monkeypatch):
    """Run a test with the kernel's RESOLVE_IN_ROOT and again with the emulated walk."""
    if request.param == "openat2" and not walk.openat2_available():
        pytest.skip("openat2 not available")
    monkeypatch.setattr(walk, "use_openat2", request.param == "openat2")
    return request.param


@pytest.fixture
def arena(tmp_path, resolver):
    return Arena(tmp_path)


# -- running code as an unprivileged user ----------------------------------------------------

KERNEL = Path(__file__).resolve().parent.parent.parent / "kernel"
PYTHON = "/opt/baleine/venv/bin/python"
USER = "baleinetest"


@pytest.fixture(scope="module")
def unprivileged_user():
    """A user with no subordinate ids (single-uid user namespaces), created if needed."""
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", USER], check=True, capture_output=True)
    # A single-uid user namespace: no subordinate ids for this user.
    for path in ("/etc/subuid", "/etc/subgid"):
        if os.path.exists(path):
            with open(path) as fh:
                lines = fh.readlines()
            kept = [line for line in lines if not line.startswith(USER + ":")]
            if kept != lines:
                with open(path, "w") as fh:
                    fh.writelines(kept)
    probe = subprocess.run(["runuser", "-u", USER, "--", "unshare", "-Urm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces refused: {probe.stderr.decode().strip()}")
    return USER


@contextlib.contextmanager
def user_sandbox(user):
    """(code dir holding a world-readable copy of kernel/, work dir owned by `user`)."""
    top = tempfile.mkdtemp(prefix="baleine-layers-")
    try:
        os.chmod(top, 0o755)
        code = os.path.join(top, "code")
        shutil.copytree(KERNEL, os.path.join(code, "kernel"), ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(["chmod", "-R", "a+rX", code], check=True)
        work = os.path.join(top, "work")
        os.mkdir(work)
        shutil.chown(work, user, user)
        yield code, work
    finally:
        shutil.rmtree(top, ignore_errors=True)


def run_as(user, code, argv, timeout=120):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": f"{code}/kernel:{code}"}
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True, text=True,
                          env=env, timeout=timeout)
