"""`docker exec` (a process joins the running container) and `docker top` (its processes)."""

from __future__ import annotations

import os

from baleine.engine.containers import Container, processes
from baleine.errors import DaemonError


class ExecFailed(Exception):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def _not_running(container: Container) -> DaemonError:
    return DaemonError(f"container {container.id} is not running")


def exec_in(container: Container, args: list[str], *, env: list[str] = (), workdir: str | None = None,
            user: str | None = None, tty: bool = False, interactive: bool = False,
            detach: bool = False) -> int:
    """Run `args` in the container; its exit status (0 at once when detached).

    Raises DaemonError when the container is not running, ExecFailed when the process
    could not start (Docker's 126/127)."""
    import json

    from baleine import runtime, snapshot
    from baleine.engine.containers import _user_ids

    if not container.running:
        raise _not_running(container)
    from baleine.engine import networks
    networks.enter(container)  # rootless, a bridged container lives in the sandbox's user namespace
    if workdir is not None and not workdir.startswith("/"):
        raise DaemonError(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    ids = None
    if user:
        # The bundle's rootfs is only mounted inside the container: read the layers instead.
        with open(os.path.join(container.bundle, "config.json")) as f:
            overlay = json.loads(json.load(f)["annotations"][snapshot.OVERLAY_ANNOTATION])
        ids = _user_ids(user, overlay)
    if detach:
        return _detached(container, args, env, workdir, ids, tty)
    stdin = 0 if interactive else os.open(os.devnull, os.O_RDONLY)
    try:
        return runtime.exec_(container.state_dir, list(args), env=list(env) or None, cwd=workdir,
                             user=ids, terminal=tty, stdio=None if tty and interactive else (stdin, 1, 2))
    except runtime.RuntimeStartError as err:
        if "is not running" in err.message:
            raise _not_running(container) from None
        raise ExecFailed(err.message, err.exit_code) from None


def _detached(container, args, env, workdir, ids, tty) -> int:
    from baleine import runtime
    pid = os.fork()
    if pid == 0:
        try:
            if os.fork() != 0:
                os._exit(0)
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            runtime.exec_(container.state_dir, list(args), env=list(env) or None, cwd=workdir,
                          user=ids, terminal=False, stdio=(null, null, null))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return 0


def top(container: Container, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
    """Docker's way: run the host's `ps` (default -ef) and keep the container's rows."""
    import subprocess

    if not container.running:
        raise _not_running(container)
    pids = {str(p) for p in processes(container)}
    proc = subprocess.run(["ps", *(ps_args or ["-ef"])], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DaemonError(f"Error running top: exit status {proc.returncode}: {proc.stderr.strip()}")
    lines = proc.stdout.splitlines()
    titles = lines[0].split()
    if "PID" not in titles:
        raise DaemonError("Couldn't find PID field in ps output")
    column = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > column and fields[column] in pids:
            rows.append(fields)
    return titles, rows
