"""Starting containers: attached (the CLI waits) or detached (a small monitor stays behind).

Output always passes through a json-file log writer, so `docker logs` works for both; the
writer is a forked process, which keeps the CLI single-threaded so the runtime can clone()
directly and forward Ctrl-C / SIGTERM to the container itself.
"""

from __future__ import annotations

import json
import os
import select

from baleine import times
from baleine.engine.containers import Container, remove_files, wait_stopped


class StartFailed(Exception):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def _log_line(stream: str, data: bytes) -> bytes:
    return (json.dumps({"log": data.decode("utf-8", "replace"), "stream": stream,
                        "time": times.rfc3339_nano()}, separators=(",", ":")) + "\n").encode()


def _pump(fds: dict[int, tuple[str, int | None]], log_path: str) -> None:
    """Copy each pipe to its terminal fd (if any) and to the log, line by line, until EOF."""
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    partial = {fd: b"" for fd in fds}
    while fds:
        ready, _, _ = select.select(list(fds), [], [])
        for fd in ready:
            stream, echo = fds[fd]
            data = os.read(fd, 65536)
            if echo is not None and data:
                try:
                    _write_all(echo, data)
                except OSError:  # the reader went away (`| head`): keep logging
                    fds[fd] = (stream, None)
            if data:
                *complete, partial[fd] = (partial[fd] + data).split(b"\n")
                entries = [_log_line(stream, line + b"\n") for line in complete]
            else:  # EOF: a last line without its newline is logged as it is
                entries = [_log_line(stream, partial[fd])] if partial[fd] else []
            if entries:
                _write_all(log, b"".join(entries))
            if not data:
                del fds[fd]
                os.close(fd)
    os.close(log)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _start_pump(container: Container, echo: bool) -> tuple[int, int, int]:
    """Fork the log writer; return (pid, stdout write end, stderr write end)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_w)
            os.close(err_w)
            import signal
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the container
            _pump({out_r: ("stdout", 1 if echo else None), err_r: ("stderr", 2 if echo else None)},
                  container.log_path)
        finally:
            os._exit(0)
    os.close(out_r)
    os.close(err_r)
    return pid, out_w, err_w


def run_attached(container: Container, stdin: bool, output: tuple[int, int] | None = None) -> int:
    """Run in the foreground; return the exit status. Raises StartFailed.

    output: (stdout fd, stderr fd) to use instead of the terminal and the json log
    (the builder streams a RUN step's output through its own prefixing pump)."""
    from baleine.engine import networks
    from baleine.runtime import RuntimeStartError, run

    networks.setup(container)  # bridged containers: namespace, veths, published ports
    networks.enter(container)
    tty = container.record["Config"]["Tty"]
    stdin_fd = 0 if stdin else os.open(os.devnull, os.O_RDONLY)
    if output is not None:
        stdio = (stdin_fd, *output)
        pump_pid = None
    elif tty:
        # The runtime copies the pty to our fd 1: point it at the log writer, which echoes to
        # the terminal, so `docker logs` has a tty container's output too (as Docker's).
        pump_pid, out_w, err_w = _start_pump(container, echo=True)
        terminal = os.dup(1)
        os.dup2(out_w, 1)
        stdio = None if stdin else (stdin_fd, 1, 2)
    else:
        pump_pid, out_w, err_w = _start_pump(container, echo=True)
        stdio = (stdin_fd, out_w, err_w)
    try:
        return run(container.bundle, container.id, state_dir=container.state_dir, stdio=stdio)
    except RuntimeStartError as err:
        raise StartFailed(err.message, err.exit_code) from None
    finally:
        if pump_pid is not None:
            if tty and output is None:
                os.dup2(terminal, 1)
                os.close(terminal)
            os.close(out_w)
            os.close(err_w)
            wait_child(pump_pid)


def run_detached(container: Container) -> None:
    """Start the container and return once it runs; a monitor writes its log and, with
    --rm, removes it when it exits. Raises StartFailed."""
    from baleine.engine import networks
    networks.setup(container)  # bridged containers: namespace, veths, published ports
    report_r, report_w = os.pipe()
    first = os.fork()
    if first == 0:
        try:
            os.close(report_r)
            if os.fork() != 0:
                os._exit(0)
            os.setsid()
            networks.enter(container)
            _monitor(container, report_w)
        finally:
            os._exit(0)
    os.close(report_w)
    wait_child(first)
    # One line, not EOF: the runtime's own monitor and the log writer inherit report_w.
    with os.fdopen(report_r, "rb") as f:
        data = f.readline()
    payload = json.loads(data) if data else {"message": "the container monitor died", "code": 125}
    if "message" in payload:
        raise StartFailed(payload["message"], payload["code"])


def _monitor(container: Container, report_w: int) -> None:
    from baleine.runtime import RuntimeStartError, run

    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    pump_pid, out_w, err_w = _start_pump(container, echo=False)
    try:
        run(container.bundle, container.id, state_dir=container.state_dir, detach=True,
            stdio=(null, out_w, err_w))
        os.write(report_w, b"{}\n")
    except RuntimeStartError as err:
        os.write(report_w, json.dumps({"message": err.message, "code": err.exit_code}).encode() + b"\n")
    except BaseException as err:  # noqa: B036 - the CLI must hear about any failure
        os.write(report_w, json.dumps({"message": str(err), "code": 125}).encode() + b"\n")
    os.close(report_w)
    os.close(out_w)
    os.close(err_w)
    wait_child(pump_pid)
    if container.record["HostConfig"].get("AutoRemove"):
        wait_stopped(container, None)
        remove_files(container)


def wait_child(pid: int) -> None:
    """Reap a forked helper (waitpid retries on EINTR by itself, PEP 475)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
