"""Fixtures for the volume tests: the engine as root and as an unprivileged user."""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "network"))

from engines import ensure_test_user, make_engine, world_kernel

KERNEL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "kernel")


@pytest.fixture(scope="session")
def world():
    base = tempfile.mkdtemp(prefix="baleine-vol-", dir="/tmp")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def kernel_copy(world):
    return world_kernel(world, KERNEL)


@pytest.fixture(params=["root", "rootless"])
def engine(request, world, kernel_copy, busybox_store):
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
