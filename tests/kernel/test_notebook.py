"""The course's command shapes in a notebook: executed by nbclient, checked by nbval."""

import os
import subprocess
import sys

import nbformat

from .regenerate_shapes import HERE, NOTEBOOK, build, execute

SANITIZE = HERE / "shapes_sanitize.cfg"


def test_stored_notebook_is_current():
    """shapes.ipynb has the cells regenerate_shapes.py writes (else: regenerate it)."""
    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in build().cells]


def test_nbclient_executes_the_shapes(kernelspec_prefix):
    nb = execute(build())  # raises CellExecutionError on an unexpected error
    outputs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    assert outputs[1][0]["text"] == "helloworld\nkernel\n"
    assert outputs[6][-1]["ename"] == "CommandFailed"


def test_nbval_checks_the_stored_outputs(kernelspec_prefix, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
         "--nbval-sanitize-with", str(SANITIZE), "--nbval-cell-timeout", "120",
         "-o", "addopts=", "--rootdir", str(HERE), str(NOTEBOOK)],
        capture_output=True, text=True, cwd=HERE, env=dict(os.environ), timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "8 passed" in run.stdout
