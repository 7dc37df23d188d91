"""The course's command shapes in notebooks: executed by nbclient, checked by nbval."""

import os
import subprocess
import sys

import nbformat
import pytest

from .conftest import BUSYBOX_TARBALL
from .regenerate_shapes import CONTAINERS, HERE, NOTEBOOK, build, build_containers, execute

SANITIZE = HERE / "shapes_sanitize.cfg"


def test_stored_notebooks_are_current():
    """The notebooks have the cells regenerate_shapes.py writes (else: regenerate them)."""
    for path, nb in ((NOTEBOOK, build()), (CONTAINERS, build_containers())):
        stored = nbformat.read(path, as_version=4)
        assert [c.source for c in stored.cells] == [c.source for c in nb.cells], path.name


def test_nbclient_executes_the_shapes(kernelspec_prefix):
    nb = execute(build())  # raises CellExecutionError on an unexpected error
    outputs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert outputs[1][0]["text"] == "helloworld\nkernel\n"
    assert outputs[6][-1]["ename"] == "CommandFailed"


def nbval(notebook, env=None):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
         "--nbval-sanitize-with", str(SANITIZE), "--nbval-cell-timeout", "120",
         "-o", "addopts=", "--rootdir", str(HERE), str(notebook)],
        capture_output=True, text=True, cwd=HERE, env=env or dict(os.environ), timeout=300)


def test_nbval_checks_the_stored_outputs(kernelspec_prefix):
    run = nbval(NOTEBOOK)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "8 passed" in run.stdout


def test_nbval_checks_the_container_shapes(kernelspec_prefix, engine_root):
    help_ = subprocess.run([sys.executable, "-m", "baleine", "run", "--help"], capture_output=True)
    if help_.returncode != 0:
        pytest.skip("`docker run` is not implemented by baleine yet")
    if not os.path.exists(BUSYBOX_TARBALL):
        pytest.skip("no busybox tarball (scripts/base_images.py makes it)")
    run = nbval(CONTAINERS, dict(os.environ, BALEINE_ROOT=str(engine_root)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "7 passed" in run.stdout
