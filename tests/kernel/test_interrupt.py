"""Interrupt: the running command's process group gets SIGINT and the reply is an error,
so nbval reports a timed-out cell as a failure (bash_kernel's 'abort' made it pass)."""

import os
import queue
import subprocess
import sys
import time

import nbformat

from .conftest import stdout_of


def _interrupt_after(kernel, code: str, delay: float, ready: str | None = None):
    """Interrupt `delay` seconds after the start, or after the output shows `ready`."""
    msg_id = kernel.execute(code)
    early = []
    if ready is not None:  # a loaded machine may take long to start a container
        deadline = time.monotonic() + 60
        while ready not in stdout_of(early) and time.monotonic() < deadline:
            try:
                msg = kernel.kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                early.append((0.0, msg["msg_type"], msg["content"]))
    time.sleep(delay)
    started = time.monotonic()
    kernel.km.interrupt_kernel()
    reply, messages = kernel.collect(msg_id, timeout=30)
    return reply, early + messages, time.monotonic() - started


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
    reply, messages, _ = _interrupt_after(kernel, code, 0.5, ready="ready")
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


def test_interrupt_docker_run(kernel, busybox):
    # docker run forwards the SIGINT to the container's process.
    code = (f"docker run --rm {busybox} "
            "sh -c 'trap \"echo got SIGINT; exit 130\" INT; echo ready; sleep 30 & wait'")
    reply, messages, took = _interrupt_after(kernel, code, 0.5, ready="ready")
    assert reply["ename"] == "KeyboardInterrupt" and took < 10
    assert "ready\n" in stdout_of(messages) and "got SIGINT" in stdout_of(messages)


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
