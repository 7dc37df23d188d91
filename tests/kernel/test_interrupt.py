"""Interrupt: the running command's process group gets SIGINT and the reply is an error,
so nbval reports a timed-out cell as a failure (bash_kernel's 'abort' made it pass)."""

import os
import subprocess
import sys
import time

import nbformat
import pytest

from .conftest import stdout_of


def _interrupt_after(kernel, code: str, delay: float):
    msg_id = kernel.execute(code)
    time.sleep(delay)
    started = time.monotonic()
    kernel.km.interrupt_kernel()
    reply, messages = kernel.collect(msg_id, timeout=30)
    return reply, messages, time.monotonic() - started


def test_interrupt_long_command(kernel):
    reply, messages, took = _interrupt_after(kernel, "echo started\nsleep 30\necho never", 1.0)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert any(kind == "error" and c["ename"] == "KeyboardInterrupt" for _, kind, c in messages)
    assert stdout_of(messages).rstrip("\n") == "started"  # bash adds a newline, as after ^C
    assert took < 5
    reply, messages = kernel.run("echo after")
    assert reply["status"] == "ok" and stdout_of(messages) == "after\n"


def test_sigint_reaches_the_running_command(kernel):
    # Like `docker run`, which forwards SIGINT to its container: the command's own
    # handler runs, in the foreground process group.
    code = "bash -c 'trap \"echo got SIGINT; exit 130\" INT; echo ready; sleep 30 & wait'"
    reply, messages, _ = _interrupt_after(kernel, code, 1.0)
    assert reply["ename"] == "KeyboardInterrupt"
    assert stdout_of(messages) == "ready\ngot SIGINT\n"


def test_interrupt_stubborn_command(kernel):
    # Ignores SIGINT: SIGTERM follows after a grace period.
    code = "bash -c 'trap \"\" INT; sleep 30 & wait'"
    reply, _, took = _interrupt_after(kernel, code, 1.0)
    assert reply["ename"] == "KeyboardInterrupt" and took < 10
    assert kernel.run("echo ok")[0]["status"] == "ok"


def test_interrupt_shell_loop(kernel):
    reply, _, took = _interrupt_after(kernel, "while :; do :; done", 1.0)
    assert reply["ename"] == "KeyboardInterrupt" and took < 5
    assert kernel.run("echo ok")[0]["status"] == "ok"


def test_interrupt_docker_run(kernel):
    help_ = subprocess.run([sys.executable, "-m", "baleine", "run", "--help"], capture_output=True)
    if help_.returncode != 0:
        # TODO: enable once `baleine run` exists (issue: container commands).
        pytest.skip("`docker run` is not implemented by baleine yet")
    # The busybox stand-in that scripts/base_images.py caches, imported into the test root.
    tarball = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                           "baleine", "base", "busybox.tar")
    if not os.path.exists(tarball):
        pytest.skip("no busybox tarball (scripts/base_images.py makes it)")
    reply, messages = kernel.run(f"docker import {tarball} kernel-busybox:latest")
    assert reply["status"] == "ok", stdout_of(messages)
    code = ("docker run --rm kernel-busybox:latest "
            "sh -c 'trap \"echo got SIGINT; exit 130\" INT; echo ready; sleep 30 & wait'")
    reply, messages, took = _interrupt_after(kernel, code, 5.0)
    assert reply["ename"] == "KeyboardInterrupt" and took < 10
    assert "got SIGINT" in stdout_of(messages)


def test_nbval_reports_a_timed_out_cell(kernelspec_prefix, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "baleine", "display_name": "Baleine (docker)", "language": "bash"}
    nb.cells = [nbformat.v4.new_code_cell("sleep 30")]
    path = tmp_path / "slow.ipynb"
    nbformat.write(nb, path)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-cell-timeout", "2",
         "-o", "addopts=", "--rootdir", str(tmp_path), str(path)],
        capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ), timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    assert "Timeout of 2 seconds exceeded" in run.stdout
