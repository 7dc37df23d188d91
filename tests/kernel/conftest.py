"""Fixtures driving the real Baleine kernel through jupyter_client (no mocks).

The kernelspec is installed with `python -m baleine.kernel install --prefix` into a temp
folder for the test session, and found through JUPYTER_PATH.
"""

import os
import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

import baleine

KERNEL_NAME = "baleine"


@pytest.fixture(scope="session")
def kernelspec_prefix(tmp_path_factory) -> Path:
    prefix = tmp_path_factory.mktemp("jupyter-prefix")
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "JUPYTER_PATH")}
    # pytest's `pythonpath` setting is not seen by subprocesses: give them the package too.
    root = os.path.dirname(os.path.dirname(os.path.abspath(baleine.__file__)))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, saved["PYTHONPATH"]]))
    subprocess.run([sys.executable, "-m", "baleine.kernel", "install", "--prefix", str(prefix)],
                   check=True, capture_output=True)
    data = prefix / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data), saved["JUPYTER_PATH"]]))
    yield prefix
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def engine_root(tmp_path_factory) -> Path:
    """A private BALEINE_ROOT, so the tests never touch the user's images."""
    return tmp_path_factory.mktemp("baleine-root")


class Kernel:
    """A running kernel and a client, with a helper that runs a cell and records messages."""

    def __init__(self, cwd: Path, env: dict) -> None:
        self.km = KernelManager(kernel_name=KERNEL_NAME)
        self.km.start_kernel(cwd=str(cwd), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def execute(self, code: str, allow_stdin: bool = False) -> str:
        return self.kc.execute(code, allow_stdin=allow_stdin)

    def collect(self, msg_id: str, timeout: float = 60, answers=None, answer=True):
        """Messages of one execution until idle: (reply content, [(seconds, type, content)]).
        `answers` are typed into input requests in order (unless answer is False)."""
        answers = list(answers or [])
        start = time.monotonic()
        messages = []
        while True:
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"no idle after {timeout}s: {messages}")
            try:
                request = self.kc.get_stdin_msg(timeout=0.01)
                messages.append((time.monotonic() - start, "input_request", request["content"]))
                if answer:
                    self.kc.input(answers.pop(0) if answers else "")
            except queue.Empty:
                pass
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            messages.append((time.monotonic() - start, kind, msg["content"]))
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"], messages

    def run(self, code: str, timeout: float = 60, allow_stdin: bool = False, answers=None):
        return self.collect(self.execute(code, allow_stdin), timeout, answers)

    def request(self, method: str, *args, **kwargs) -> dict:
        """complete/inspect/kernel_info: the reply's content."""
        msg_id = getattr(self.kc, method)(*args, **kwargs)
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def stdout_of(messages) -> str:
    return "".join(c["text"] for _, kind, c in messages if kind == "stream" and c["name"] == "stdout")


def kernel_env(engine_root: Path, **extra) -> dict:
    env = dict(os.environ)
    env.pop("BALEINE_KERNEL_ENGINE", None)
    env.update(BALEINE_ROOT=str(engine_root), **extra)
    return env


@pytest.fixture(scope="module")
def kernel(kernelspec_prefix, engine_root, tmp_path_factory):
    k = Kernel(tmp_path_factory.mktemp("notebook"), kernel_env(engine_root))
    yield k
    k.close()


@pytest.fixture
def start_kernel(kernelspec_prefix, engine_root, tmp_path):
    """Start a kernel of one's own (for restart, or a different environment)."""
    started = []

    def start(**extra):
        k = Kernel(tmp_path, kernel_env(engine_root, **extra))
        started.append(k)
        return k
    yield start
    for k in started:
        k.close()


BUSYBOX_TARBALL = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                               "baleine", "base", "busybox.tar")


@pytest.fixture
def busybox(kernel) -> str:
    """`kernel-busybox:latest` in the test engine root, imported from the busybox stand-in
    that scripts/base_images.py caches; skips when containers cannot run yet."""
    help_ = subprocess.run([sys.executable, "-m", "baleine", "run", "--help"], capture_output=True)
    if help_.returncode != 0:
        pytest.skip("`docker run` is not implemented by baleine yet")
    if not os.path.exists(BUSYBOX_TARBALL):
        pytest.skip("no busybox tarball (scripts/base_images.py makes it)")
    reply, messages = kernel.run("docker image inspect kernel-busybox:latest >/dev/null 2>&1 || "
                                 f"docker import {BUSYBOX_TARBALL} kernel-busybox:latest >/dev/null")
    assert reply["status"] == "ok", stdout_of(messages)
    return "kernel-busybox:latest"
