"""A persistent bash in a pty, driven line by line (the bash_kernel design), plus:

- PS1 carries `$?` and the count of failed top-level commands (see RCFILE), so every
  command's status arrives with its prompt, with no extra round trip;
- a command blocked reading the terminal is noticed (from /proc) and answered: with the
  notebook's input when the frontend allows stdin, else with end-of-file;
- interrupt goes to the terminal's foreground process group (the running job), with
  SIGTERM then SIGKILL if it does not give the prompt back;
- when bash ends (`exit`, `set -e`) a new one is started and the caller is told.
"""

import os
import platform
import re
import secrets
import select
import shlex
import signal
import struct
import tempfile
import termios
import time
from dataclasses import dataclass
from typing import Callable

import pexpect

from . import environment

# Read-like system calls per machine -> which argument is the fd read from. A thread
# blocked in one of them on the terminal is waiting for input (busybox `cat` in a
# container uses sendfile, where the source is the second argument).
_READ_SYSCALLS = {
    # read, pread64, readv, preadv, sendfile, splice, copy_file_range
    "x86_64": {0: 1, 17: 1, 19: 1, 295: 1, 40: 2, 275: 1, 326: 1},
    # read, readv, pread64, preadv, sendfile, splice, copy_file_range
    "aarch64": {63: 1, 65: 1, 67: 1, 69: 1, 71: 2, 76: 1, 285: 1},
}.get(platform.machine(), {})
# poll-like system calls: which fds they wait on is read from the process's memory
# (busybox `sh -c 'read x'` polls its stdin). "poll": (struct pollfd *, nfds, ...);
# "select": (nfds, fd_set *readfds, ...).
_POLL_SYSCALLS = {
    "x86_64": {7: "poll", 271: "poll", 23: "select", 270: "select"},
    "aarch64": {73: "poll", 72: "select"},
}.get(platform.machine(), {})

POLL = 0.1          # seconds between checks while a command runs silently
STOP_GRACE = 3.0    # seconds a job gets after each signal before a harder one
MAX_LINE = 4000     # bytes: the pty's line discipline drops what goes past 4095


class SessionTimeout(Exception):
    pass


@dataclass
class CellResult:
    failure: tuple[int, str] | None = None  # (status, command) of the first failed command
    interrupted: bool = False
    exited: int | None = None               # bash ended with this status and was restarted
    incomplete: bool = False                # the cell ends inside a command


class _Collect:
    """An output sink that keeps the text (for helper commands)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def feed(self, text: str) -> None:
        self.parts.append(text)

    def idle(self) -> None:
        pass

    def end_command(self) -> None:
        pass

    def take_prompt(self) -> str:
        return ""

    @property
    def text(self) -> str:
        return "".join(self.parts)


# ask(prompt, still_waiting) -> the line typed, None for end-of-file.
AskInput = Callable[[str, Callable[[], bool]], str | None]


class BashSession:
    def __init__(self, cwd: str | None = None) -> None:
        self.cwd = cwd or os.getcwd()
        self.engine = environment.engine_name()
        self.child: pexpect.spawn | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        shims, rcfile = environment.prepare_files(self.engine)
        env = environment.session_env(shims, self.cwd)
        self.mark = "BALEINE_" + secrets.token_hex(6).upper()
        env["BALEINE_KERNEL_MARK"] = self.mark
        self._prompt = re.compile(re.escape(self.mark) + r"(?:\[(\d+):(\d+)\]>|\+)")
        self._buf = ""
        # ipykernel ignores SIGINT and Python ignores SIGPIPE; children inherit ignored
        # signals through exec, and `head` in a pipe or Ctrl-C must work in the session.
        saved = signal.signal(signal.SIGINT, signal.SIG_DFL), signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        try:
            self.child = pexpect.spawn(
                "bash", ["--noprofile", "--rcfile", str(rcfile), "--noediting", "-i"],
                env=env, cwd=self.cwd, echo=False, encoding="utf-8", codec_errors="replace",
                dimensions=(50, 200),
            )
        finally:
            signal.signal(signal.SIGINT, saved[0])
            signal.signal(signal.SIGPIPE, saved[1])
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before each send otherwise
        self.status, self.failures = self._wait_prompt(_Collect(), timeout=30)
        self.tty = os.readlink(f"/proc/{self.child.pid}/fd/0")
        self._termios = termios.tcgetattr(self.child.child_fd)

    def close(self) -> None:
        if self.child is not None:
            self.child.close(force=True)  # SIGHUP: bash passes it on to its jobs
            self.child = None

    # -- running a cell ---------------------------------------------------------------

    def run_cell(self, code: str, out, ask: AskInput | None = None) -> CellResult:
        """Send the cell line by line, streaming output to `out` (an output.LiveOutput)."""
        lines = [line.rstrip("\r") for line in code.split("\n")]
        if max(len(line.encode()) for line in lines) < MAX_LINE:
            return self._run_lines(lines, out, ask)
        # The terminal keeps at most 4095 bytes of a line: bash reads a long one from a file.
        fd, path = tempfile.mkstemp(prefix="baleine-cell-", suffix=".sh")
        try:
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(lines) + "\n")
            return self._run_lines([f". {shlex.quote(path)}"], out, ask)
        finally:
            os.unlink(path)

    def _run_lines(self, lines: list[str], out, ask: AskInput | None) -> CellResult:
        result = CellResult()
        failures_before = self.failures
        block: list[str] = []  # lines of the command being entered (PS2 continuations)
        trapped = False
        try:
            for line in lines:
                if not block and (not line.strip() or line.lstrip().startswith("#")):
                    continue  # nothing to run, and bash would repeat the last $?
                block.append(line)
                self.child.send(line + "\n")
                prompt = self._wait_prompt(out, ask=ask, stdin=True)
                if prompt is None:
                    continue  # PS2: bash wants the next line
                status, failures = prompt
                self._restore_terminal()
                if failures != self.failures:
                    trapped = True  # the ERR trap saw it; its text is asked for below
                elif status != 0 and result.failure is None and not trapped:
                    # Failed without the ERR trap (`false && true`, a syntax error).
                    result.failure = (status, block[0].strip())
                self.status, self.failures = status, failures
                block = []
            if block:
                result.incomplete = True
                self._stop_foreground(_Collect())  # Ctrl-C drops the half-typed command
        except KeyboardInterrupt:
            result.interrupted = True
            try:
                self._stop_foreground(out)
            except pexpect.EOF:
                result.exited = self._restart_after_exit()
                return result
        except (pexpect.EOF, OSError):  # OSError: writing to a pty whose bash is gone
            result.exited = self._restart_after_exit()
            return result
        if self.failures != failures_before:
            first = self.run_quiet('printf "%s\\n" "$__baleine_first"; __baleine_first=')
            status, _, command = first.strip().partition(" ")
            if result.failure is None and status.isdigit():
                result.failure = (int(status), command)
        return result

    def run_quiet(self, command: str, timeout: float = 5.0) -> str:
        """Run a helper command and return its output, keeping `$?` and the failure count."""
        sink = _Collect()
        self.child.send("__baleine_keep " + shlex.quote(command) + "\n")
        try:
            self.status, self.failures = self._wait_prompt(sink, timeout=timeout)
        except SessionTimeout:
            self._stop_foreground(_Collect())
            raise
        return sink.text

    def recover(self) -> None:
        """Back to a prompt after an interrupt that came outside run_cell's own handling."""
        try:
            self._stop_foreground(_Collect())
        except pexpect.EOF:
            self._restart_after_exit()

    def _restore_terminal(self) -> None:
        """A program killed in raw mode (`docker run -it`) leaves the pty so; end-of-file
        (Ctrl-D) and line reading need the settings bash started with."""
        try:
            if termios.tcgetattr(self.child.child_fd) != self._termios:
                termios.tcsetattr(self.child.child_fd, termios.TCSANOW, self._termios)
        except termios.error:
            pass

    def _restart_after_exit(self) -> int:
        self.child.close()
        status = self.child.exitstatus
        if status is None:
            status = 128 + (self.child.signalstatus or 0)
        self.child = None
        self.start()
        return status

    # -- reading output ---------------------------------------------------------------

    def _wait_prompt(self, out, ask: AskInput | None = None, stdin: bool = False,
                     timeout: float | None = None):
        """Feed output to `out` until a prompt: (status, failures) for PS1, None for PS2."""
        deadline = None if timeout is None else time.monotonic() + timeout
        reading_seen = 0
        while True:
            m = self._prompt.search(self._buf)
            if m:
                out.feed(self._buf[:m.start()])
                self._buf = self._buf[m.end():]
                if m.group(1) is None:
                    return None
                out.end_command()
                return int(m.group(1)), int(m.group(2))
            keep = self._prompt_start(self._buf)
            if keep:
                out.feed(self._buf[:keep])
                self._buf = self._buf[keep:]
            if deadline is not None and time.monotonic() > deadline:
                raise SessionTimeout()
            try:
                self._buf += self.child.read_nonblocking(65536, timeout=POLL)
                reading_seen = 0
            except pexpect.TIMEOUT:
                out.idle()
                if stdin and self._reader_waiting():
                    # Twice in a row: a client that reads eagerly (docker run -i) but
                    # finishes at once does not get asked anything.
                    reading_seen += 1
                    if reading_seen >= 2:
                        self._answer_input(out, ask)
                        reading_seen = 0
                else:
                    reading_seen = 0

    def _prompt_start(self, buf: str) -> int:
        """Where a prompt may be starting at the end of buf (all before it is output)."""
        at = buf.rfind(self.mark)
        if at >= 0:
            return at
        for size in range(min(len(self.mark) - 1, len(buf)), 0, -1):
            if buf.endswith(self.mark[:size]):
                return len(buf) - size
        return len(buf)

    # -- stdin ------------------------------------------------------------------------

    def _reader_waiting(self) -> bool:
        """Is a process of the session blocked reading its terminal? Not only the
        foreground job: a container started by `docker run -i` reads the terminal it
        was given from a session of its own."""
        if not _READ_SYSCALLS:
            return False
        for pid in _descendants(self.child.pid):
            for task in _listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{task}/syscall") as f:
                        call = f.read().split()
                    nr = int(call[0])
                    if nr in _READ_SYSCALLS:
                        fds = [int(call[_READ_SYSCALLS[nr]], 16)]
                    elif nr in _POLL_SYSCALLS:
                        fds = _polled_fds(pid, _POLL_SYSCALLS[nr], int(call[1], 16), int(call[2], 16))
                    else:
                        continue
                    # /dev/tty: a password prompt opens the controlling terminal
                    if any(_fd_target(pid, fd) in (self.tty, "/dev/tty") for fd in fds):
                        # Output written before the read (a prompt) is not read yet:
                        # that is bash showing its own prompt, not a question.
                        return not select.select([self.child.child_fd], [], [], 0)[0]
                except (OSError, ValueError, IndexError):
                    continue
        return False

    def _answer_input(self, out, ask: AskInput | None) -> None:
        """Give the waiting command a line from the notebook, or end-of-file."""
        if ask is None:
            out.idle()
            answer = None
        else:
            answer = ask(out.take_prompt(), self._reader_waiting)
        if not self._reader_waiting():
            return  # it stopped waiting meanwhile: never type into bash's command line
        if answer is None or answer in ("\x04", "^D"):
            self.child.send("\x04")  # VEOF at the start of a line: read() returns 0
        else:
            self.child.send(answer + "\n")

    # -- interrupt --------------------------------------------------------------------

    def _stop_foreground(self, out) -> None:
        """SIGINT the foreground job (harder if it ignores it) until bash prompts again."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            try:
                group = os.tcgetpgrp(self.child.child_fd)
                if group == self.child.pid and sig != signal.SIGINT:
                    sig = signal.SIGKILL  # bash itself is stuck: end it, a new one starts
                os.killpg(group, sig)
            except OSError:
                pass
            try:
                while True:
                    prompt = self._wait_prompt(out, timeout=STOP_GRACE)
                    if prompt is not None:
                        self.status, self.failures = prompt
                        self._restore_terminal()
                        return
            except (SessionTimeout, KeyboardInterrupt):
                continue  # a second interrupt means: harder, now
        raise pexpect.EOF("bash did not come back")


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _fd_target(pid: int, fd: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return ""


def _polled_fds(pid: int, kind: str, arg0: int, arg1: int) -> list[int]:
    """The fds a process blocked in poll/select waits to read (from /proc/PID/mem)."""
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            if kind == "poll":
                count = min(arg1, 64)
                mem.seek(arg0)
                data = mem.read(8 * count)
                return [fd for fd, events, _ in struct.iter_unpack("ihh", data) if events & 1]  # POLLIN
            if arg1 == 0:  # select without a read set
                return []
            nfds = min(arg0, 1024)
            mem.seek(arg1)
            bits = int.from_bytes(mem.read((nfds + 63) // 64 * 8), "little")
            return [fd for fd in range(nfds) if bits >> fd & 1]
    except (OSError, ValueError, struct.error):
        return []


def _descendants(ancestor: int) -> list[int]:
    """`ancestor` and its descendants (from /proc/PID/task/TID/children; where the kernel
    lacks those files, every process)."""
    if not os.path.exists(f"/proc/{ancestor}/task/{ancestor}/children"):
        return [int(n) for n in _listdir("/proc") if n.isdigit()]
    found, todo = [], [ancestor]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in _listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                continue
    return found
