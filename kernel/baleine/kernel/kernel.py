"""The Jupyter kernel "Baleine (docker)": bash cells where `docker` is Baleine.

Replies, so that nbval and nbclient see what happened:
- a failed top-level command, even not the last one: error CommandFailed,
  "`false` exited with status 1" (the first failure of the cell);
- an interrupt: error KeyboardInterrupt (bash_kernel's 'abort' lets nbval pass timeouts);
- `exit`, `set -e`: error ShellExited, and a new bash;
- a cell ending inside a command (open quote, here-document, trailing `\\`): IncompleteCommand.

Magics (first line of a cell, opt-in; the default output stays exactly Docker's):
- `%%baleine html`: Docker tables (images, ps, history, ...) shown as HTML tables;
- `%%baleine layers [IMAGE...]`: after the cell, a diagram of the layers the images share.
BALEINE_KERNEL_HTML=1 in the kernel's environment turns HTML tables on for every cell.
"""

import os
import re
import shlex
import subprocess

import zmq
from ipykernel.kernelbase import Kernel

import baleine

from . import completion, display
from .output import LiveOutput
from .session import BashSession, CellResult, SessionTimeout

_MAGIC = re.compile(r"\s*%%baleine\b(.*)")


def parse_magic(code: str) -> tuple[dict, str]:
    """Options from a `%%baleine ...` first line, and the rest of the cell."""
    first, _, rest = code.partition("\n")
    m = _MAGIC.match(first)
    if not m:
        return {}, code
    words = shlex.split(m.group(1))
    options: dict = {}
    if "html" in words:
        options["html"] = True
    if words and words[0] == "layers":
        options["layers"] = words[1:]
    if not options:
        raise ValueError(f"unknown %%baleine option {m.group(1).strip()!r}: use html or layers")
    return options, rest


class BaleineKernel(Kernel):
    implementation = "baleine"
    implementation_version = baleine.__version__
    language_info = {
        "name": "bash",
        "codemirror_mode": "shell",
        "mimetype": "text/x-sh",
        "file_extension": ".sh",
        "pygments_lexer": "bash",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bash = BashSession()
        self.bash.start()
        self.html_default = os.environ.get("BALEINE_KERNEL_HTML", "") not in ("", "0")
        version = subprocess.run(["bash", "-c", "echo $BASH_VERSION"], capture_output=True, text=True)
        self.bash_version = version.stdout.strip().split("(")[0]
        self.language_info = dict(self.language_info, version=self.bash_version)

    @property
    def banner(self) -> str:
        return (f"Baleine kernel {baleine.__version__}: bash {self.bash_version}, "
                f"docker = {self.bash.engine}")

    # -- execute ----------------------------------------------------------------------

    async def do_execute(self, code, silent, store_history=True, user_expressions=None,
                         allow_stdin=False, **_):
        try:
            options, code = parse_magic(code)
        except ValueError as err:
            return self._error("UsageError", str(err))
        tables = None
        if (options.get("html") or self.html_default) and not silent:
            tables = display.TableCollector(self._send_display)
        out = LiveOutput(self._send_stdout if not silent else (lambda text: None), tables)
        ask = self._ask if allow_stdin else None
        try:
            result = self.bash.run_cell(code, out, ask)
        except KeyboardInterrupt:  # while reading the status after the cell
            self.bash.recover()
            result = CellResult(interrupted=True)
        reply = self._reply(result, silent)
        if "layers" in options and reply["status"] == "ok" and not silent:
            self._show_layers(options["layers"])
        return reply

    def _send_stdout(self, text: str) -> None:
        self.send_response(self.iopub_socket, "stream", {"name": "stdout", "text": text})

    def _send_display(self, data: dict) -> None:
        self.send_response(self.iopub_socket, "display_data", {"data": data, "metadata": {}})

    def _reply(self, result: CellResult, silent: bool = False) -> dict:
        if result.exited is not None:
            return self._error(
                "ShellExited",
                f"bash exited with status {result.exited} (exit, set -e or a signal); "
                "a new bash session was started: variables, aliases and the current "
                "folder are reset", silent)
        if result.interrupted:
            return self._error("KeyboardInterrupt", "the command was interrupted", silent)
        if result.incomplete:
            return self._error(
                "IncompleteCommand",
                "the cell ends inside a command (an open quote or here-document, a "
                "trailing \\, or a missing done/fi/esac/}); it was not run", silent)
        if result.failure is not None:
            status, command = result.failure
            if len(command) > 200:  # a long `docker run ...`: its start names it well enough
                command = command[:199] + "…"
            what = f"`{command}`" if command else "a command"
            return self._error("CommandFailed", f"{what} exited with status {status}", silent)
        return {"status": "ok", "execution_count": self.execution_count,
                "payload": [], "user_expressions": {}}

    def _error(self, ename: str, evalue: str, silent: bool = False) -> dict:
        content = {"ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}
        if not silent:
            self.send_response(self.iopub_socket, "error", content)
        return dict(content, status="error", execution_count=self.execution_count)

    def _show_layers(self, images: list[str]) -> None:
        try:
            if not images:
                listed = self.bash.run_quiet(
                    "docker images --format '{{.Repository}}:{{.Tag}}' 2>&1", timeout=60)
                images = [i for i in listed.split() if "<none>" not in i]
            if not images:
                self._send_stdout("no images\n")
                return
            args = " ".join(shlex.quote(i) for i in images)
            text = self.bash.run_quiet(f"docker image inspect {args} 2>&1", timeout=60)
            self._send_display(display.layers_display(text, images))
        except (ValueError, SessionTimeout) as err:
            self.send_response(self.iopub_socket, "stream", {
                "name": "stderr", "text": f"layers: cannot read `docker image inspect`: {err}\n"})

    # -- stdin ------------------------------------------------------------------------

    def _ask(self, prompt: str, still_waiting) -> str | None:
        """An input_request to the frontend. Unlike ipykernel's raw_input it gives up when
        the command stops waiting (it may have read eagerly, then finished)."""
        while True:  # drop stale replies, as ipykernel does
            try:
                self.stdin_socket.recv_multipart(zmq.NOBLOCK)
            except zmq.ZMQError:
                break
        parent = self.get_parent("shell")
        ident = self._get_shell_context_var(self._shell_parent_ident)
        self.session.send(self.stdin_socket, "input_request",
                          {"prompt": prompt, "password": False}, parent, ident=ident)
        while True:
            ready, _, _ = zmq.select([self.stdin_socket], [], [], 0.2)
            if ready:
                _, reply = self.session.recv(self.stdin_socket)
                if reply is not None:
                    value = reply["content"].get("value", "")
                    return None if value == "\x04" else value
            elif not still_waiting():
                return None

    # -- completion, inspection, shutdown ----------------------------------------------

    async def do_complete(self, code, cursor_pos):
        try:
            return completion.complete(self.bash, code, cursor_pos)
        except Exception:  # never leave the frontend waiting for a reply
            self.log.warning("completion failed", exc_info=True)
            return {"matches": [], "cursor_start": cursor_pos, "cursor_end": cursor_pos,
                    "metadata": {}, "status": "ok"}

    async def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        try:
            return completion.inspect(self.bash, code, cursor_pos)
        except Exception:
            self.log.warning("inspection failed", exc_info=True)
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}

    async def do_shutdown(self, restart):
        self.bash.close()
        return {"status": "ok", "restart": restart}
