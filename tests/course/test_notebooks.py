"""The course's chapters still give their stored outputs: nbval over chapters/ with the Baleine kernel.

The store is prepared as scripts/execute_course.py prepares it (a fresh BALEINE_ROOT with the
offline base images), then pytest --nbval runs as a subprocess so that its cells and sanitize
rules are exactly those of the CI command line.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def execute_course_module():
    spec = importlib.util.spec_from_file_location("execute_course", os.path.join(REPO, "scripts", "execute_course.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_chapters_pass_nbval(tmp_path):
    course = execute_course_module()
    root = str(tmp_path / "baleine-course")
    started_registry = course.prepare(root)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
             "--nbval-sanitize-with", "nbval_sanitize.cfg", "--nbval-kernel-name", course.KERNEL_NAME,
             "--nbval-cell-timeout", str(course.CELL_TIMEOUT), "-o", "norecursedirs=_build .*",
             "chapters/"],
            cwd=REPO, env=course.course_env(root), capture_output=True, text=True)
    finally:
        course.reset_root(root)  # no container left running, no store left behind
        if started_registry:
            course.stop_registry(root)
    report = proc.stdout[-20000:] + proc.stderr[-5000:]
    assert proc.returncode == 0, report
    assert " passed" in proc.stdout and "failed" not in proc.stdout.splitlines()[-1], report
