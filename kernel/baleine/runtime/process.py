"""The container's processes: start one (run), join one (exec), become the user's program.

run:  the runtime process (the monitor) clone()s the container's PID 1 directly into
      new namespaces, writes its id maps and cgroups, lets it set up its mounts and
      pivot_root, and waits for it, forwarding signals; stdio is inherited (or a pty
      is proxied).  A CLOEXEC pipe tells the monitor whether execve happened: it
      carries the start error otherwise.
exec: a forked helper setns()es into the container's namespaces and forks the new
      process (it lands in the container's PID namespace), then relays its status.

Nothing is imported after entering the container root: the root may hold files at
the paths our interpreter would load.
"""

import _signal as signal  # not `signal`: it imports enum, start-up time
import os
import stat

from . import caps
from . import jsonlite as json
from . import mounts
from . import spec as specmod
from . import statefile
from . import syscalls as sc
from .errors import RuntimeStartError

NS_FLAGS = {
    "user": sc.CLONE_NEWUSER, "mount": sc.CLONE_NEWNS, "uts": sc.CLONE_NEWUTS,
    "ipc": sc.CLONE_NEWIPC, "pid": sc.CLONE_NEWPID, "network": sc.CLONE_NEWNET,
    "cgroup": sc.CLONE_NEWCGROUP,
}
NS_PROC = {"user": "user", "mount": "mnt", "uts": "uts", "ipc": "ipc", "pid": "pid",
           "network": "net", "cgroup": "cgroup"}
# setns order: the user namespace first (it grants the rights for the others), mount last.
JOIN_ORDER = ["user", "ipc", "uts", "network", "cgroup", "pid", "mount"]
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2)
START_PREFIX = "unable to start container process: error during container init: "

TIOCSCTTY = 0x540E
TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414
TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431


def _warn(message: str) -> None:
    try:
        os.write(2, (message + "\n").encode())
    except OSError:
        pass


def _report(fd: int, exc: BaseException) -> None:
    """Child side: send the start error to the monitor, then the caller _exits."""
    if isinstance(exc, RuntimeStartError):
        payload = {"message": exc.message, "code": exc.exit_code}
    elif isinstance(exc, OSError):
        what = exc.strerror or str(exc)
        if exc.filename:
            what = f"{what}: {os.fsdecode(exc.filename)}"
        payload = {"message": START_PREFIX + what, "code": None}
    else:
        payload = {"message": START_PREFIX + f"{type(exc).__name__}: {exc}", "code": 125}
    try:
        os.write(fd, json.dumps(payload).encode())
    except OSError:
        pass


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _raise_reported(data: bytes) -> None:
    try:
        payload = json.loads(data)
    except ValueError:
        raise RuntimeStartError(START_PREFIX + data.decode(errors="replace"), 125) from None
    raise RuntimeStartError(payload["message"], payload.get("code"))


def _close_all_but(keep) -> None:
    """Close every fd except `keep` (CVE-2024-21626: no host fd may reach the container)."""
    low = 0
    for fd in sorted(set(keep)) + [None]:
        if fd is None:
            os.closerange(low, 1 << 20)
            return
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def exit_status(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


# --------------------------------------------------------------------------- the process

class Proc:
    """What becoming the container's process needs, prepared before any namespace change."""

    def __init__(self, process: dict, fakeroot: bool, stdio, err_w: int, notify_sock=None):
        self.process = process
        self.args = list(process.get("args") or [])
        env = list(process.get("env") or [])
        if fakeroot and not any(e.startswith("APT_CONFIG=") for e in env):
            env.append("APT_CONFIG=" + mounts.APT_CONF_PATH)
        self.env = env
        self.fakeroot = fakeroot
        self.filter = None
        # notify_sock: the chown family goes to a listener whose fd is sent to the monitor
        # over this socket (owners.py); without it, it returns 0 in the kernel.
        self.notify_sock = None
        if fakeroot:
            from . import seccomp
            self.filter = seccomp.fakeroot_filter(notify=notify_sock is not None)
            self.notify_sock = notify_sock
        self.stdio = stdio
        self.err_w = err_w
        self.top = caps.last_cap()
        self.terminal = bool(process.get("terminal"))
        self.slave = None
        self.init = None   # path of tini inside the container, for --init

    def env_value(self, key: str):
        value = None
        for item in self.env:
            k, _, v = item.partition("=")
            if k == key:
                value = v
        return value


def _set_rlimits(process: dict) -> None:
    if not process.get("rlimits"):
        return
    import resource  # already imported by the monitor: no file is read inside the root
    for rl in process.get("rlimits") or ():
        name = rl.get("type", "")
        number = getattr(resource, name, None)
        if number is None:
            raise RuntimeStartError(START_PREFIX + f"unknown rlimit {name}", 125)
        soft, hard = int(rl.get("soft", 0)), int(rl.get("hard", 0))
        try:
            resource.setrlimit(number, (soft, hard))
        except (ValueError, OSError):
            # Without CAP_SYS_RESOURCE (rootless) the hard limit cannot be raised: clamp.
            cur_hard = resource.getrlimit(number)[1]
            if cur_hard != resource.RLIM_INFINITY:
                hard = min(hard, cur_hard) if hard != resource.RLIM_INFINITY else cur_hard
                soft = min(soft, hard) if soft != resource.RLIM_INFINITY else hard
            resource.setrlimit(number, (soft, hard))


def _setgroups_allowed() -> bool:
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() != "deny"
    except OSError:
        return True


def _set_ids(p: Proc) -> None:
    user = p.process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    extra = [int(g) for g in user.get("additionalGids") or ()]
    try:
        if _setgroups_allowed():
            os.setgroups(extra)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        if exc.errno == 22 and p.fakeroot:
            return  # not mapped in a single-uid namespace: stay (fake) root
        raise RuntimeStartError(
            START_PREFIX + f"cannot set uid/gid to {uid}:{gid}: {exc.strerror}", 125) from None


def _check_cwd(cwd: str) -> None:
    parts = [c for c in cwd.split("/") if c]
    if len(parts) >= 2 and parts[0] == "proc" and (
            parts[1] in ("self", "thread-self") or parts[1].isdigit()):
        raise RuntimeStartError(START_PREFIX + f"refusing working directory {cwd!r} under /proc", 125)


def _lookup(p: Proc) -> str:
    """Go's exec.LookPath, in the container root, with the container's PATH."""
    name = p.args[0]
    if "/" in name:
        try:
            st = os.stat(name)
        except FileNotFoundError:
            raise RuntimeStartError(
                START_PREFIX + f'exec: "{name}": stat {name}: no such file or directory', 127) from None
        except OSError as exc:
            raise RuntimeStartError(START_PREFIX + f'exec: "{name}": {exc.strerror.lower()}') from None
        if stat.S_ISDIR(st.st_mode):
            raise RuntimeStartError(START_PREFIX + f'exec: "{name}": is a directory', 126)
        if not st.st_mode & 0o111:
            raise RuntimeStartError(START_PREFIX + f'exec: "{name}": permission denied', 126)
        return name
    path = p.env_value("PATH")
    if path is None:
        path = specmod.DEFAULT_PATH
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return candidate
    raise RuntimeStartError(
        START_PREFIX + f'exec: "{name}": executable file not found in $PATH', 127)


def _open_pty(sock) -> int:
    """Child side, inside the root: a pty of the container's devpts; the master goes to
    the monitor over `sock`, the slave is returned."""
    import fcntl
    import socket
    import struct
    master = os.open("/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
    slave_path = f"/dev/pts/{number}"
    slave = os.open(slave_path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    socket.send_fds(sock, [b"pty"], [master])
    os.close(master)
    if os.path.exists("/dev/console") or os.path.isdir("/dev"):
        try:
            if not os.path.lexists("/dev/console"):
                os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            sc.mount(slave_path, "/dev/console", None, sc.MS_BIND)
        except OSError:
            pass
    return slave


def become(p: Proc) -> None:
    """In the container's namespaces and root: drop to the user's identity and execve."""
    process = p.process
    _set_rlimits(process)
    if "oomScoreAdj" in process:
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(int(process["oomScoreAdj"])))
        except OSError:
            pass
    spec_caps = process.get("capabilities") or {}
    caps.drop_bounding(caps.mask(spec_caps.get("bounding")), p.top)
    sc.prctl(sc.PR_SET_KEEPCAPS, 1)
    _set_ids(p)
    # A uid change cleared the effective set: restore it for the steps below.
    _, permitted, inheritable = sc.capget()
    sc.capset(permitted, permitted, inheritable)
    if p.filter is not None:
        p.filter.load()   # needs CAP_SYS_ADMIN in our namespace (or no_new_privs)
        if p.notify_sock is not None:
            import socket  # both already loaded (nothing is read inside the root)
            from . import seccomp
            socket.send_fds(p.notify_sock, [b"n"], [seccomp.notify_fd(p.filter)])
            p.notify_sock.close()   # the listener fd itself is closed below (_close_all_but)
    caps.apply_sets(spec_caps, p.top)
    cwd = process.get("cwd") or "/"
    _check_cwd(cwd)
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise RuntimeStartError(
            START_PREFIX + f'chdir to cwd ("{cwd}") set in config.json failed: {exc.strerror.lower()}') from None
    try:
        here = os.getcwd()
    except OSError:
        here = ""
    if not here.startswith("/"):
        raise RuntimeStartError(START_PREFIX + f"working directory {cwd!r} is outside the container root", 125)
    path = _lookup(p)
    if process.get("noNewPrivileges"):
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
    os.setsid()
    if p.slave is not None:
        import fcntl
        fcntl.ioctl(p.slave, TIOCSCTTY, 0)
        fds = [p.slave] * 3
    else:
        fds = p.stdio or [0, 1, 2]
    # Move the fds to be dup'ed out of the way of 0..2 first, then dup2 them in place.
    high = [os.dup(fd) if fd is not None and fd >= 0 else None for fd in fds]
    for target, fd in enumerate(high):
        if fd is not None:
            os.dup2(fd, target, inheritable=True)
    _close_all_but([0, 1, 2, p.err_w])
    for sig in (signal.SIGPIPE, signal.SIGXFSZ) + FORWARDED:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in p.env)
        if p.init:
            # tini is PID 1: it forwards signals and reaps orphans; it execvp()s the command,
            # which we looked up above only to give Docker's errors.
            os.execve(p.init, [p.init, "--", *p.args], env)
        os.execve(path, p.args, env)
    except OSError as exc:
        raise RuntimeStartError(START_PREFIX + f'exec: "{p.args[0]}": {exc.strerror.lower()}') from None


# --------------------------------------------------------------------------- monitor side

class _Forwarder:
    """Forward SIGINT/TERM/HUP/... to the container; emulate an init if asked."""

    def __init__(self, init: bool):
        self.pid = None
        self.init = init
        self.emulated = None
        self.previous = {}

    def install(self):
        for sig in FORWARDED:
            self.previous[sig] = signal.signal(sig, self.handle)

    def restore(self):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def handle(self, signum, frame):
        if self.pid is None:
            return
        self.forward(self.pid, signum)

    def forward(self, pid: int, signum: int) -> None:
        try:
            if self.init and not _catches(pid, signum):
                # PID 1 ignores signals it has no handler for; an init (tini) would let the
                # default action happen to its child: do it, and report 128+n.
                self.emulated = signum
                os.kill(pid, signal.SIGKILL)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            pass


INIT_CANDIDATES = ("/usr/bin/tini-static", "/usr/libexec/docker/docker-init",
                   "/usr/bin/docker-init", "/usr/local/bin/tini-static")


def find_init() -> str | None:
    """A static init on the host (Debian's `tini` package ships tini-static).  Without
    one, the monitor emulates the init's signal behaviour (see _Forwarder)."""
    for path in INIT_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def _catches(pid: int, signum: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("SigCgt:", "SigIgn:")) and int(line.split()[1], 16) & (1 << (signum - 1)):
                    return True
    except OSError:
        pass
    return False


def _write_maps(pid: int, spec: dict) -> None:
    linux = spec.get("linux") or {}
    uids = linux.get("uidMappings") or [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    gids = linux.get("gidMappings") or [{"containerID": 0, "hostID": os.getegid(), "size": 1}]

    def lines(maps):
        return "".join(f'{m["containerID"]} {m["hostID"]} {m["size"]}\n' for m in maps)

    single = (len(uids) == 1 and uids[0]["hostID"] == os.geteuid() and uids[0]["size"] == 1
              and len(gids) == 1 and gids[0]["hostID"] == os.getegid() and gids[0]["size"] == 1)
    if os.geteuid() == 0 or single:
        if os.geteuid() != 0:
            with open(f"/proc/{pid}/setgroups", "w") as f:
                f.write("deny")
        with open(f"/proc/{pid}/uid_map", "w") as f:
            f.write(lines(uids))
        with open(f"/proc/{pid}/gid_map", "w") as f:
            f.write(lines(gids))
        return
    # Ranges from /etc/subuid: the setuid helpers of shadow's uidmap package.
    import subprocess
    for tool, maps in (("newuidmap", uids), ("newgidmap", gids)):
        argv = [tool, str(pid)]
        for m in maps:
            argv += [str(m["containerID"]), str(m["hostID"]), str(m["size"])]
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeStartError(f"{tool} failed: {result.stderr.strip()}", 125)


def _proxy_pty(master: int, pid_alive) -> None:
    """Copy host stdin -> pty master -> host stdout until the container side closes."""
    import select
    import termios
    import tty
    import fcntl
    stdin_is_tty = os.isatty(0)
    saved = None
    if stdin_is_tty:
        try:
            fcntl.ioctl(master, TIOCSWINSZ, fcntl.ioctl(0, TIOCGWINSZ, b"\0" * 8))
            saved = termios.tcgetattr(0)
            tty.setraw(0)
        except OSError:
            saved = None

    def winch(signum, frame):
        try:
            fcntl.ioctl(master, TIOCSWINSZ, fcntl.ioctl(0, TIOCGWINSZ, b"\0" * 8))
        except OSError:
            pass

    old_winch = signal.signal(signal.SIGWINCH, winch) if stdin_is_tty else None
    inputs = [master, 0]
    try:
        while True:
            try:
                ready, _, _ = select.select(inputs, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    return
                view = memoryview(data)
                while view:
                    view = view[os.write(1, view):]
            if 0 in ready:
                try:
                    data = os.read(0, 65536)
                except OSError:
                    data = b""
                if not data:
                    inputs = [master]
                else:
                    os.write(master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)


def _receive_master(sock) -> int | None:
    import socket
    try:
        _, fds, _, _ = socket.recv_fds(sock, 16, 1)
    except OSError:
        return None
    return fds[0] if fds else None


def _wait(pid: int) -> int:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return status
        except InterruptedError:
            continue


class Container:
    """Foreground run of one bundle; the calling process is the monitor."""

    def __init__(self, spec: dict, container_id: str, state_dir: str, stdio=None, notify_fd=None):
        self.spec = spec
        self.id = container_id
        self.state_dir = state_dir
        self.stdio = list(stdio) if stdio else None
        self.notify_fd = notify_fd
        self.fakeroot = specmod.annotation(spec, specmod.ANNOTATION_FAKEROOT)
        self.namespaces = specmod.namespaces(spec)
        self.cgroup_paths: list[str] = []
        self.init_mode = None   # --init: "tini" (PID 1 is tini) or "emulated" (by the monitor)

    def _clone_flags(self) -> tuple[int, list]:
        flags, join = 0, []
        for kind, path in self.namespaces.items():
            if kind not in NS_FLAGS:
                raise RuntimeStartError(f"unknown namespace type {kind!r}", 125)
            if path:
                join.append((kind, path))
            else:
                flags |= NS_FLAGS[kind]
        if not flags & sc.CLONE_NEWNS:
            raise RuntimeStartError("a mount namespace is required", 125)
        join.sort(key=lambda item: JOIN_ORDER.index(item[0]))
        return flags, join

    def _apt_conf(self) -> str | None:
        if not self.fakeroot:
            return None
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        path = os.path.join(self.state_dir, "apt.conf")
        with open(path, "w") as f:
            f.write('APT::Sandbox::User "root";\n')
        os.chmod(path, 0o644)
        return path

    def run(self) -> int:
        spec = self.spec
        try:
            if statefile.read(self.state_dir).get("status") == "running":
                raise RuntimeStartError(f"container {self.id} already exists and is running", 125)
        except RuntimeStartError as exc:
            if "already exists" in exc.message:
                raise
        flags, join = self._clone_flags()
        in_userns = bool(flags & sc.CLONE_NEWUSER) or any(k == "user" for k, _ in join)
        new_netns = bool(flags & sc.CLONE_NEWNET)
        if os.geteuid() != 0 and not in_userns:
            raise RuntimeStartError(
                "running without root needs a user namespace in the bundle (linux.namespaces)", 125)
        apt_conf = self._apt_conf()
        init_binary = find_init() if specmod.annotation(spec, specmod.ANNOTATION_INIT) else None
        if specmod.annotation(spec, specmod.ANNOTATION_INIT):
            self.init_mode = "tini" if init_binary else "emulated"
        ctx = mounts.MountContext(spec["_root_path"], spec["_bundle"], in_userns, new_netns)
        process = spec["process"]
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        notify_parent = notify_child = None
        if self.fakeroot:   # the chown family is answered (and recorded) by the monitor
            import socket
            notify_parent, notify_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        p = Proc(process, self.fakeroot, self.stdio, err_w, notify_child)
        if init_binary:
            p.init = mounts.INIT_PATH
        sock_parent = sock_child = None
        if p.terminal:
            import fcntl, socket  # noqa: E401,F401  (needed inside the root by _open_pty)
            sock_parent, sock_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        import struct  # noqa: F401  (used by loopback_up; nothing is imported inside the root)
        if process.get("rlimits"):
            import resource  # noqa: F401
        forwarder = _Forwarder(specmod.annotation(spec, specmod.ANNOTATION_INIT))
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        try:
            pid = sc.clone(flags)
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            raise RuntimeStartError(f"cannot create namespaces: {exc.strerror}", 125) from None
        if pid == 0:  # ---- the container's PID 1
            try:
                keep = [sync_r, err_w] + [fd for fd in (self.stdio or []) if fd is not None and fd >= 0]
                keep += [0, 1, 2] + ([sock_child.fileno()] if sock_child else [])
                keep += [notify_child.fileno()] if notify_child else []
                _close_all_but(keep)
                # (the monitor writes our id maps first: /proc/<pid> of a non-dumpable
                # process belongs to root, which an unprivileged monitor is not)
                if os.read(sync_r, 1) != b"1":
                    os._exit(1)
                os.close(sync_r)
                sc.prctl(sc.PR_SET_DUMPABLE, 0)
                for kind, path in join:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                    sc.setns(fd, NS_FLAGS[kind])
                    os.close(fd)
                if flags & sc.CLONE_NEWUTS and spec.get("hostname"):
                    sc.sethostname(spec["hostname"])
                if new_netns:
                    sc.loopback_up()
                mounts.prepare(ctx, spec, apt_conf, init_binary)
                if p.terminal:
                    p.slave = _open_pty(sock_child)
                    sock_child.close()
                mounts.finish(spec)
                become(p)
            except BaseException as exc:  # noqa: B036 - the child must never return
                _report(err_w, exc)
            os._exit(1)
        # ---- the monitor
        os.close(sync_r)
        os.close(err_w)
        if sock_child is not None:
            sock_child.close()
        if notify_child is not None:
            notify_child.close()
        forwarder.pid = pid
        forwarder.install()
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        master = None
        try:
            try:
                if in_userns and not any(k == "user" for k, _ in join):
                    _write_maps(pid, spec)
                from . import cgroups
                if cgroups.wanted((spec.get("linux") or {}).get("resources")):
                    self.cgroup_paths = cgroups.apply(
                        spec["linux"]["resources"], self.id, pid, _warn)
                os.write(sync_w, b"1")
                os.close(sync_w)
                sync_w = None
                if sock_parent is not None:
                    master = _receive_master(sock_parent)
                    sock_parent.close()
                if notify_parent is not None:
                    listener = _receive_master(notify_parent)
                    notify_parent.close()
                    notify_parent = None
                    if listener is not None:
                        from . import owners
                        owners.start(listener, self.state_dir)
                error = _read_all(err_r)
            except BaseException:
                os.kill(pid, signal.SIGKILL)
                raise
            finally:
                if sync_w is not None:
                    os.close(sync_w)
                if notify_parent is not None:
                    notify_parent.close()
                os.close(err_r)
            if error:
                _wait(pid)
                self._cleanup()
                _raise_reported(error)
            state = self._state(pid)
            statefile.write(self.state_dir, state)
            if self.notify_fd is not None:
                os.write(self.notify_fd, json.dumps({"pid": pid}).encode())
                os.close(self.notify_fd)
                self.notify_fd = None
                # A detached monitor must not hold the caller's stdio open.
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.close(null)
                if master is not None and self.stdio and self.stdio[1] is not None:
                    os.dup2(self.stdio[1], 1)  # a detached tty's output goes where asked (a log)
            if master is not None:
                try:
                    _proxy_pty(master, None)
                finally:
                    os.close(master)
            status = _wait(pid)
            code = exit_status(status)
            if forwarder.emulated and code == 128 + signal.SIGKILL:
                code = 128 + forwarder.emulated
            state.update(status="stopped", exit_code=code, finishedAt=statefile.now_iso())
            statefile.write(self.state_dir, state)
            self._cleanup()
            return code
        finally:
            forwarder.restore()

    def _state(self, pid: int) -> dict:
        return {
            "ociVersion": self.spec.get("ociVersion", "1.0.2"), "id": self.id,
            "status": "running", "pid": pid, "start_ticks": statefile.start_ticks(pid),
            "monitor_pid": os.getpid(), "monitor_start_ticks": statefile.start_ticks(os.getpid()),
            "init": self.init_mode, "bundle": self.spec["_bundle"],
            "rootfs": self.spec["_root_path"], "startedAt": statefile.now_iso(),
            "annotations": self.spec.get("annotations") or {}, "cgroups": self.cgroup_paths,
            "exit_code": None,
        }

    def _cleanup(self):
        if self.cgroup_paths:
            from . import cgroups
            cgroups.cleanup(self.cgroup_paths)


def run_detached(spec: dict, container_id: str, state_dir: str, stdio=None) -> int:
    """Start the container under a detached monitor; return its pid once it runs."""
    r, w = os.pipe2(os.O_CLOEXEC)
    first = os.fork()
    if first == 0:
        try:
            os.close(r)
            if os.fork() != 0:
                os._exit(0)
            os.setsid()
            try:
                Container(spec, container_id, state_dir, stdio, notify_fd=w).run()
            except RuntimeStartError as exc:
                os.write(w, json.dumps({"message": exc.message, "code": exc.exit_code}).encode())
        except BaseException as exc:  # noqa: B036
            try:
                os.write(w, json.dumps({"message": str(exc), "code": 125}).encode())
            except OSError:
                pass
        os._exit(0)
    os.close(w)
    _wait(first)
    data = _read_all(r)
    os.close(r)
    payload = json.loads(data) if data else {"message": "the container monitor died", "code": 125}
    if "pid" not in payload:
        raise RuntimeStartError(payload["message"], payload.get("code"))
    return payload["pid"]


def is_threaded() -> bool:
    """clone() without fork()'s atfork handlers is only safe with a single thread
    (another thread could hold a libc lock, e.g. malloc's, forever in the child)."""
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:
        return True


def run_in_fork(spec: dict, container_id: str, state_dir: str, stdio=None) -> int:
    """Foreground run from a multi-threaded caller (a Jupyter kernel, say): a forked,
    single-threaded child is the monitor; we forward signals to it and relay its status."""
    r, w = os.pipe2(os.O_CLOEXEC)
    forwarder = _Forwarder(False)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    pid = os.fork()
    if pid == 0:
        code = 125
        try:
            os.close(r)
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            code = Container(spec, container_id, state_dir, stdio).run()
        except RuntimeStartError as exc:
            os.write(w, json.dumps({"message": exc.message, "code": exc.exit_code}).encode())
        except BaseException as exc:  # noqa: B036
            os.write(w, json.dumps({"message": str(exc), "code": 125}).encode())
        os._exit(code)
    os.close(w)
    forwarder.pid = pid
    forwarder.install()
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    try:
        status = _wait(pid)
        error = _read_all(r)
    finally:
        os.close(r)
        forwarder.restore()
    if error:
        _raise_reported(error)
    return exit_status(status)


# --------------------------------------------------------------------------- exec

def exec_in(state: dict, spec: dict, process: dict, stdio=None) -> int:
    """Run `process` inside the running container described by `state`; return its status."""
    pid = state["pid"]
    fakeroot = specmod.annotation(spec, specmod.ANNOTATION_FAKEROOT)
    kinds = [k for k in JOIN_ORDER if k in specmod.namespaces(spec)]
    fds = []
    try:
        for kind in kinds:
            path = f"/proc/{pid}/ns/{NS_PROC[kind]}"
            if os.stat(path).st_ino == os.stat(f"/proc/self/ns/{NS_PROC[kind]}").st_ino:
                continue  # already there (e.g. root joining a non-user namespace set)
            fds.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
    except OSError as exc:
        for _, fd in fds:
            os.close(fd)
        raise RuntimeStartError(f"cannot join container {state.get('id')}: {exc.strerror}", 125) from None
    if statefile.start_ticks(pid) != state.get("start_ticks"):
        for _, fd in fds:
            os.close(fd)
        raise RuntimeStartError(f"container {state.get('id')} is not running", 125)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    info_r, info_w = os.pipe2(os.O_CLOEXEC)
    p = Proc(process, fakeroot, stdio, err_w)
    if process.get("rlimits"):
        import resource  # noqa: F401
    sock_parent = sock_child = None
    if p.terminal:
        import fcntl, socket, struct  # noqa: E401,F401  (needed inside the root by _open_pty)
        sock_parent, sock_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    forwarder = _Forwarder(False)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    helper = os.fork()
    if helper == 0:
        try:
            keep = [err_w, info_w] + [fd for _, fd in fds] + [0, 1, 2]
            keep += [fd for fd in (stdio or []) if fd is not None and fd >= 0]
            keep += [sock_child.fileno()] if sock_child else []
            _close_all_but(keep)
            sc.prctl(sc.PR_SET_DUMPABLE, 0)
            for kind, fd in fds:
                sc.setns(fd, NS_FLAGS[kind])
                os.close(fd)
            child = os.fork()
            if child == 0:
                try:
                    os.close(info_w)
                    if p.terminal:
                        p.slave = _open_pty(sock_child)
                        sock_child.close()
                    become(p)
                except BaseException as exc:  # noqa: B036
                    _report(err_w, exc)
                os._exit(1)
            os.close(err_w)
            os.write(info_w, str(child).encode())
            os.close(info_w)
            os._exit(exit_status(_wait(child)))
        except BaseException as exc:  # noqa: B036
            _report(err_w, exc)
            os._exit(125)
    for _, fd in fds:
        os.close(fd)
    os.close(err_w)
    os.close(info_w)
    if sock_child is not None:
        sock_child.close()
    forwarder.install()
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    try:
        child_text = _read_all(info_r)
        os.close(info_r)
        master = None
        if child_text:
            from . import cgroups
            cgroups.join(state.get("cgroups"), int(child_text))
            if sock_parent is not None:
                master = _receive_master(sock_parent)
        if sock_parent is not None:
            sock_parent.close()
        error = _read_all(err_r)
        os.close(err_r)
        if error:
            _wait(helper)
            _raise_reported(error)
        forwarder.pid = int(child_text) if child_text else None
        if master is not None:
            try:
                _proxy_pty(master, None)
            finally:
                os.close(master)
        return exit_status(_wait(helper))
    finally:
        forwarder.restore()
