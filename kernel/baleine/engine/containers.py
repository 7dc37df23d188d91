"""Containers: records on disk, creation from an image, start, stop, removal.

    $BALEINE_ROOT/containers/<id>/container.json   what `docker inspect` shows (static part)
    $BALEINE_ROOT/containers/<id>/bundle/          OCI bundle: config.json + rootfs mountpoint
    $BALEINE_ROOT/containers/<id>/upper, work      the writable layer (overlayfs)
    $BALEINE_ROOT/containers/<id>/state/           the runtime's state (pid, exit status)
    $BALEINE_ROOT/containers/<id>/<id>-json.log    output, in Docker's json-file format

The running/exited state is never stored twice: it is read from the runtime's state file,
which its monitor process keeps up to date.
"""

from __future__ import annotations

import json
import os
import re

from baleine import times
from baleine.errors import BaleineError, Conflict, DaemonError, NotFound
from baleine.fsutil import atomic_write

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _monitor_alive(rs: dict) -> bool:
    from baleine.runtime.statefile import start_ticks
    pid = rs.get("monitor_pid")
    return bool(pid) and start_ticks(pid) == rs.get("monitor_start_ticks")


class Container:
    """A container record plus the paths that belong to it."""

    def __init__(self, root: str, record: dict):
        self.record = record
        self.id: str = record["Id"]
        self.dir = os.path.join(root, "containers", self.id)

    @property
    def name(self) -> str:
        return self.record["Name"].lstrip("/")

    @property
    def bundle(self) -> str:
        return os.path.join(self.dir, "bundle")

    @property
    def state_dir(self) -> str:
        return os.path.join(self.dir, "state")

    @property
    def log_path(self) -> str:
        return os.path.join(self.dir, f"{self.id}-json.log")

    def save(self) -> None:
        atomic_write(os.path.join(self.dir, "container.json"),
                     json.dumps(self.record, separators=(",", ":")).encode(), 0o600)

    def runtime_state(self) -> dict | None:
        if not os.path.exists(os.path.join(self.state_dir, "state.json")):
            return None
        from baleine.runtime import state
        try:
            return state(self.state_dir)
        except Exception:
            return None

    @property
    def state(self) -> dict:
        """Docker's State object, derived from the runtime's state file."""
        rs = self.runtime_state()
        base = {"Status": "created", "Running": False, "Paused": False, "Restarting": False,
                "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
                "StartedAt": times.ZERO_TIME, "FinishedAt": times.ZERO_TIME}
        if self.record.get("StartError"):
            base.update(Status="created", ExitCode=self.record["StartError"]["code"],
                        Error=self.record["StartError"]["message"])
        if rs is None:
            return base
        running = rs.get("status") == "running"
        if not running and rs.get("exit_code") is None and _monitor_alive(rs):
            # The process has just ended (a zombie reads as gone) and its monitor is about to
            # record how: until then it is still running, or `wait` would report 137.
            running = True
        base.update(Status="running" if running else "exited", Running=running,
                    Pid=rs.get("pid", 0) if running else 0,
                    StartedAt=rs.get("startedAt") or times.ZERO_TIME)
        if not running:
            code = rs.get("exit_code")
            base.update(ExitCode=code if code is not None else 137,
                        FinishedAt=rs.get("finishedAt") or rs.get("startedAt") or times.ZERO_TIME)
        return base

    @property
    def running(self) -> bool:
        return self.state["Running"]


# -- the collection ------------------------------------------------------------------------

def containers_dir(root: str) -> str:
    return os.path.join(root, "containers")


def all_containers(root: str) -> list[Container]:
    found = []
    try:
        names = os.listdir(containers_dir(root))
    except FileNotFoundError:
        return found
    for name in names:
        try:
            with open(os.path.join(containers_dir(root), name, "container.json")) as f:
                found.append(Container(root, json.load(f)))
        except (OSError, ValueError):
            continue
    found.sort(key=lambda c: c.record.get("Created", ""), reverse=True)
    return found


def lookup(root: str, text: str) -> Container:
    """By exact name, full ID, or unique ID prefix, as Docker resolves containers."""
    if not text:
        raise BaleineError("container name cannot be empty")
    containers = all_containers(root)
    for c in containers:
        if c.id == text or c.name == text.lstrip("/"):
            return c
    matches = [c for c in containers if c.id.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise DaemonError(f"multiple IDs found with provided prefix: {text}")
    raise NotFound(f"No such container: {text}")


def names_lock(root: str):
    """Serialises name reservation so two `run --name x` cannot both win."""
    from baleine.fsutil import FileLock
    return FileLock(os.path.join(root, "containers.lock"))


# -- creation ------------------------------------------------------------------------------

def resolve_command(image_config: dict, entrypoint: str | None, args: list[str]) -> tuple[list, list]:
    """Docker's Entrypoint/Cmd merge (reference §6.1): returns (entrypoint, cmd)."""
    if entrypoint is not None:
        user_entrypoint = [entrypoint]
        cmd = list(args)
    else:
        user_entrypoint = list(image_config.get("Entrypoint") or [])
        cmd = list(args) if args else list(image_config.get("Cmd") or [])
    if user_entrypoint == [""]:
        user_entrypoint = []
    if not user_entrypoint and not cmd:
        raise DaemonError("no command specified", 125)
    return user_entrypoint, cmd


def merge_env(image_env: list[str], user_env: list[str]) -> list[str]:
    """User variables first, then the image's whose name the user did not set."""
    keys = {e.partition("=")[0] for e in user_env}
    return list(user_env) + [e for e in image_env if e.partition("=")[0] not in keys]


def create(store, image, image_text: str, *, name: str | None = None, args: list[str] = (),
           entrypoint: str | None = None, env: list[str] = (), workdir: str | None = None,
           user: str | None = None, tty: bool = False, stdin_open: bool = False,
           hostname: str | None = None, init: bool = False, binds: list[str] = (),
           network: str = "host", auto_remove: bool = False, labels: dict | None = None,
           resources: dict | None = None, mounts: list[dict] = (), volumes_from: list[str] = (),
           network_options: dict | None = None) -> Container:
    from baleine import snapshot
    from baleine.engine import networks, volumes

    image_config = image.config.get("config") or {}
    entry, cmd = resolve_command(image_config, entrypoint, list(args))
    argv = entry + cmd
    if workdir is not None and not workdir.startswith("/"):
        raise DaemonError(f"the working directory '{workdir}' is invalid, it needs to be an absolute path", 125)
    container_id = os.urandom(32).hex()
    root = store.root
    with names_lock(root):
        taken = {c.name: c.id for c in all_containers(root)}
        if name is not None:
            if not NAME_RE.match(name):
                raise DaemonError(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", 125)
            name = name.lstrip("/")
            if name in taken:
                raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                               f'"{taken[name]}". You have to remove (or rename) that container to be able '
                               "to reuse that name.", 125)
        else:
            from baleine.engine.names import generate
            name = generate(set(taken), container_id[:12])
        config = {
            "Hostname": hostname or container_id[:12], "Domainname": "", "User": user or image_config.get("User", ""),
            "AttachStdin": stdin_open, "AttachStdout": True, "AttachStderr": True,
            "Tty": tty, "OpenStdin": stdin_open, "StdinOnce": stdin_open,
            "Env": merge_env(list(image_config.get("Env") or []), list(env)),
            "Cmd": cmd or None, "Image": image_text, "Volumes": image_config.get("Volumes"),
            "WorkingDir": workdir or image_config.get("WorkingDir", ""),
            "Entrypoint": entry or None, "OnBuild": None,
            "Labels": {**(image_config.get("Labels") or {}), **(labels or {})},
        }
        if image_config.get("StopSignal"):
            config["StopSignal"] = image_config["StopSignal"]
        record = {
            "Id": container_id, "Created": times.rfc3339_nano(), "Path": argv[0], "Args": argv[1:],
            "Image": image.id, "Name": "/" + name, "Config": config,
            "HostConfig": {"Binds": list(binds) or None, "NetworkMode": network, "AutoRemove": auto_remove,
                           "Init": init, "Mounts": list(mounts) or None,
                           "VolumesFrom": list(volumes_from) or None, **(resources or {})},
            "Driver": "overlay", "Platform": "linux",
        }
        networks.configure(root, record, network, **(network_options or {}))
        container = Container(root, record)
        os.makedirs(container.bundle, mode=0o700)
        os.makedirs(os.path.join(container.bundle, "rootfs"), exist_ok=True)
        container.save()
    try:
        overlay = snapshot.prepare(store, image, container.dir)
        if overlay.get("driver") == "vfs":
            record["Driver"] = "vfs"
            container.save()
        if config["WorkingDir"]:
            _make_workdir(overlay, config["WorkingDir"])
        requested = [volumes.parse_volume_flag(b) for b in binds] + list(mounts)
        record["Mounts"] = volumes.resolve(store, image, overlay, requested, list(volumes_from), container_id)
        container.save()
        write_bundle(container, overlay)
    except BaseException:
        remove_files(container)
        raise
    return container


def _make_workdir(overlay: dict, path: str) -> None:
    """Docker creates a missing working directory when the container is created."""
    from baleine.engine.rootfs import MergedView, make_dirs
    try:
        make_dirs(MergedView([overlay["upperdir"], *overlay["lowerdir"]]), path)
    except OSError:
        pass  # the runtime reports it when the container starts


def write_bundle(container: Container, overlay: dict) -> None:
    """The OCI runtime spec the runtime executes, from the container's config."""
    from baleine import runtime, snapshot

    record = container.record
    config, host = record["Config"], record["HostConfig"]
    rootless = os.geteuid() != 0
    # The vfs fallback's rootfs is the bundle's own directory: nothing to mount.
    annotations = ({} if overlay.get("driver") == "vfs"
                   else {snapshot.OVERLAY_ANNOTATION: snapshot.overlay_annotation(overlay)})
    if rootless:
        annotations["org.baleine.fakeroot"] = "1"
    if host.get("Init"):
        annotations["org.baleine.init"] = "1"
    env = list(config["Env"])
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, DEFAULT_PATH)
    if not any(e.startswith("HOSTNAME=") for e in env):
        env.insert(1, "HOSTNAME=" + config["Hostname"])
    if config["Tty"] and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    spec = runtime.default_spec([record["Path"], *record["Args"]], rootfs="rootfs", rootless=rootless,
                                hostname=config["Hostname"], env=env, cwd=config["WorkingDir"] or "/",
                                terminal=config["Tty"], network=host["NetworkMode"],
                                user=_user_ids(config.get("User") or "", overlay), annotations=annotations)
    from baleine.engine.volumes import spec_mounts
    # Volumes first: /etc/hosts & co stay the engine's even under a volume at /etc, as in Docker.
    spec["mounts"] += (spec_mounts(record["Mounts"]) if "Mounts" in record
                       else _bind_mounts(host.get("Binds") or [])) + _network_files(container)
    resources = {k: host[k] for k in ("Memory", "NanoCpus", "PidsLimit") if host.get(k)}
    if resources:
        linux = spec["linux"].setdefault("resources", {})
        if "Memory" in resources:
            linux["memory"] = {"limit": resources["Memory"]}
        if "NanoCpus" in resources:
            linux["cpu"] = {"quota": resources["NanoCpus"] // 10000, "period": 100000}
        if "PidsLimit" in resources:
            linux["pids"] = {"limit": resources["PidsLimit"]}
    runtime.write_spec(container.bundle, spec)


def _user_ids(user: str, overlay: dict) -> tuple[int, int, list[int]]:
    """`-u name[:group]` resolved in the image's own /etc/passwd and /etc/group (read as text
    from the topmost layer that has them; never through the host's NSS)."""
    if not user:
        return (0, 0, [])
    from baleine import runtime
    name, _, group = user.partition(":")
    if name.isdigit() and (not group or group.isdigit()):
        return (int(name), int(group or 0), [])
    for layer in [overlay["upperdir"], *overlay["lowerdir"]]:
        if os.path.exists(os.path.join(layer, "etc", "passwd")):
            try:
                return runtime.resolve_user(layer, user)
            except runtime.RuntimeStartError as err:
                raise DaemonError(err.message, err.exit_code) from None
    raise DaemonError(f"unable to find user {name}: no matching entries in passwd file", 125)


def _network_files(container: Container) -> list[dict]:
    """/etc/hostname, /etc/hosts and /etc/resolv.conf, as Docker bind-mounts them."""
    hostname = container.record["Config"]["Hostname"]
    files = {
        "hostname": hostname + "\n",
        "hosts": f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n",
    }
    try:
        with open("/etc/resolv.conf") as f:
            files["resolv.conf"] = f.read()
    except OSError:
        files["resolv.conf"] = ""
    mounts = []
    for name, text in files.items():
        path = os.path.join(container.dir, name)
        atomic_write(path, text.encode())
        mounts.append({"destination": f"/etc/{name}", "type": "bind", "source": path,
                       "options": ["rbind", "rprivate"]})
    return mounts


def _bind_mounts(binds: list[str]) -> list[dict]:
    mounts = []
    for bind in binds:
        source, _, rest = bind.partition(":")
        dest, _, opts = rest.partition(":")
        options = ["rbind", "rprivate"]
        if "ro" in opts.split(","):
            options.append("ro")
        mounts.append({"destination": dest, "type": "bind", "source": source, "options": options})
    return mounts


# -- removal -------------------------------------------------------------------------------

def remove_files(container: Container) -> None:
    from baleine.engine import networks, volumes
    from baleine.snapshot import remove_tree
    networks.release(container)  # its namespace, veths and port forwarder
    remove_tree(container.dir)
    if container.record["HostConfig"].get("AutoRemove"):  # --rm takes anonymous volumes along
        volumes.remove_anonymous(os.path.dirname(os.path.dirname(container.dir)), container.record)


def remove(root: str, container: Container, force: bool = False) -> None:
    if container.running:
        if not force:
            raise Conflict(f'cannot remove container "{container.name}": container is running: '
                           "stop the container before removing or force remove")
        kill(container, "KILL")
        wait_stopped(container, 10)
    remove_files(container)


def kill(container: Container, signal="KILL") -> None:
    from baleine.runtime import RuntimeStartError, kill as runtime_kill
    try:
        runtime_kill(container.state_dir, signal)
    except RuntimeStartError as err:
        if "invalid signal" in str(err.message if hasattr(err, "message") else err):
            raise DaemonError(str(err)) from None


def wait_stopped(container: Container, timeout: float | None) -> bool:
    import time
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while container.running:
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return True


def stop(container: Container, timeout: float = 10, signal: str | None = None) -> None:
    if not container.running:
        return
    kill(container, signal or container.record["Config"].get("StopSignal") or "TERM")
    if not wait_stopped(container, timeout):
        kill(container, "KILL")
        wait_stopped(container, 10)


# -- processes -------------------------------------------------------------------------------

def processes(container: Container) -> list[int]:
    """Host pids of the container's processes: those in its PID namespace (exec'd ones
    included), or, where /proc does not let us compare namespaces, its init's descendants."""
    state = container.state
    init = state["Pid"]
    if not state["Running"] or not init:
        return []
    try:
        namespace = os.readlink(f"/proc/{init}/ns/pid")
    except OSError:
        namespace = None
    children: dict[int, list[int]] = {}
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if namespace is not None:
            try:
                if os.readlink(f"/proc/{pid}/ns/pid") == namespace:
                    members.append(pid)
            except OSError:
                pass
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(pid)
    found, pending = set(members), [init]
    while pending:
        pid = pending.pop()
        found.add(pid)
        pending.extend(children.get(pid, []))
    return sorted(found)


class frozen:
    """SIGSTOP every process of a running container for the duration (nothing if stopped),
    so it cannot swap a path for a symlink while the host side reads or writes its files."""

    def __init__(self, container: Container, enabled: bool = True):
        self.container, self.enabled, self.stopped = container, enabled, []

    def __enter__(self):
        import signal
        if not self.enabled:
            return self
        for _ in range(3):  # a process forked meanwhile is caught on the next pass
            new = [p for p in processes(self.container) if p not in self.stopped]
            if not new:
                break
            for pid in new:
                try:
                    os.kill(pid, signal.SIGSTOP)
                    self.stopped.append(pid)
                except ProcessLookupError:
                    pass
        return self

    def __exit__(self, *exc):
        import signal
        for pid in self.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        return False
