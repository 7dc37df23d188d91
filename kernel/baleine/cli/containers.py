"""Container commands: run, create, start, ps, logs, stop, kill, restart, wait, rm, commit,
rename, container inspect, container prune."""

from __future__ import annotations

import os
import sys
import time

from baleine import reference, times
from baleine.cli.output import print_inspect, print_list
from baleine.fsutil import tree_size
from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError, DaemonError, NotFound
from baleine.store import open_store

FORMAT_HELP = "Format output using a custom template"


class RunError(BaleineError):
    """`docker run`'s own error format: "docker: <error>" and a hint, exit 125 by default."""

    exit_code = 125

    def __str__(self) -> str:
        return f"docker: {self.args[0]}\n\nRun 'docker run --help' for more information"


CREATE_FLAGS = [
    Flag("interactive", "i", help="Keep STDIN open even if not attached"),
    Flag("tty", "t", help="Allocate a pseudo-TTY"),
    Flag("name", kind="str", help="Assign a name to the container"),
    Flag("env", "e", "list", help="Set environment variables"),
    Flag("env-file", kind="list", help="Read in a file of environment variables"),
    Flag("workdir", "w", "str", help="Working directory inside the container"),
    Flag("user", "u", "str", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("entrypoint", kind="str", help="Overwrite the default ENTRYPOINT of the image"),
    Flag("volume", "v", "list", help="Bind mount a volume"),
    Flag("hostname", "h", "str", help="Container host name"),
    Flag("init", help="Run an init inside the container that forwards signals and reaps processes"),
    Flag("memory", "m", "str", help="Memory limit"),
    Flag("cpus", kind="str", help="Number of CPUs"),
    Flag("pids-limit", kind="int", help="Tune container pids limit (set -1 for unlimited)"),
    Flag("network", kind="str", help="Connect a container to a network (default: host, or bridge with -p/-P)"),
    Flag("network-alias", kind="list", help="Add network-scoped alias for the container"),
    Flag("ip", kind="str", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("publish", "p", "list", help="Publish a container's port(s) to the host"),
    Flag("publish-all", "P", help="Publish all exposed ports to random ports"),
    Flag("expose", kind="list", help="Expose a port or a range of ports"),
    Flag("mount", kind="list", help="Attach a filesystem mount to the container"),
    Flag("volumes-from", kind="list", help="Mount volumes from the specified container(s)"),
    Flag("label", "l", "list", help="Set meta data on a container"),
    Flag("rm", help="Automatically remove the container and its associated anonymous volumes when it exits"),
    Flag("pull", kind="str", default="missing", help='Pull image before running ("always", "missing", "never")'),
]

RUN = Command("container run", "[OPTIONS] IMAGE [COMMAND] [ARG...]",
              "Create and run a new container from an image",
              CREATE_FLAGS + [Flag("detach", "d", help="Run container in background and print container ID")],
              aliases=("run",), interspersed=False, min_args=1)
CREATE = Command("container create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
                 CREATE_FLAGS, aliases=("create",), interspersed=False, min_args=1)


def _env_from_files(files: list[str]) -> list[str]:
    """--env-file, Docker's rules: no quote removal, `K` alone takes the host's value."""
    env = []
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise RunError(f"open {path}: {err.strerror.lower()}") from None
        for number, raw in enumerate(data.split(b"\n"), 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8").lstrip()
            except UnicodeDecodeError:
                raise RunError(f"invalid utf8 bytes at line {number}: {raw!r}") from None
            if not line or line.startswith("#"):
                continue
            key, eq, value = line.partition("=")
            if not key:
                raise RunError(f"no variable name on line '{line}'")
            if any(c.isspace() for c in key):
                raise RunError(f"variable '{key}' contains whitespaces")
            if eq:
                env.append(f"{key}={value}")
            elif key in os.environ:
                env.append(f"{key}={os.environ[key]}")
    return env


def _env(opts) -> list[str]:
    env = _env_from_files(opts.env_file)
    for item in opts.env:
        key, eq, _ = item.partition("=")
        if not key:
            raise RunError(f"invalid environment variable: {item}")
        if eq:
            env.append(item)
        elif key in os.environ:
            env.append(f"{key}={os.environ[key]}")
    return env


def _binds(volumes: list[str]) -> list[str]:
    """`-v` as given, a relative host path made absolute (named, anonymous and bind mounts
    are told apart by baleine.engine.volumes)."""
    from baleine.engine.volumes import parse_volume_flag
    binds = []
    for spec in volumes:
        try:
            parse_volume_flag(spec)
        except ValueError as err:
            raise RunError(str(err)) from None
        if spec.startswith("."):
            source, _, rest = spec.partition(":")
            spec = f"{os.path.abspath(source)}:{rest}"
        binds.append(spec)
    return binds


def _size(text: str) -> int:
    units = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    value = text.strip().lower()
    try:
        if value[-1] in units:
            return int(float(value[:-1]) * units[value[-1]])
        return int(value)
    except (ValueError, IndexError):
        raise RunError(f"invalid size: '{text}'") from None


def _resources(opts) -> dict:
    resources = {}
    if opts.memory:
        resources["Memory"] = _size(opts.memory)
    if opts.cpus:
        try:
            resources["NanoCpus"] = int(float(opts.cpus) * 1e9)
        except ValueError:
            raise RunError(f'invalid argument "{opts.cpus}" for "--cpus" flag') from None
    if opts.pids_limit:
        resources["PidsLimit"] = opts.pids_limit
    return resources


def _image(store, text: str, pull: str):
    try:
        reference.parse(text) if not reference.looks_like_id(text) else None
    except reference.InvalidReference as err:
        raise RunError(str(err)) from None
    try:
        return store.lookup(text)
    except NotFound:
        if pull == "never":
            raise RunError(f"Error response from daemon: No such image: {reference.parse_tagged(text).familiar()}") from None
    familiar = reference.parse_tagged(text).familiar()
    sys.stderr.write(f"Unable to find image '{familiar}' locally\n")
    try:
        from baleine.registry import pull_if_missing
    except ImportError:
        raise RunError(f"Error response from daemon: pull access denied for {reference.parse(text).familiar_name}, "
                       "repository does not exist or may require 'docker login'") from None
    try:
        return pull_if_missing(store, text, announced=True)
    except BaleineError as err:
        raise RunError(str(err)) from None


def _create(opts, args) -> tuple:
    from baleine.engine.containers import create

    from baleine.cli.networks import run_network_options
    from baleine.cli.volumes import run_mount_options
    store = open_store()
    try:
        network, network_options = run_network_options(store.root, opts)
        mounts = run_mount_options(opts)
    except (ValueError, BaleineError) as err:
        raise RunError(str(err)) from None
    image = _image(store, args[0], opts.pull)
    labels = dict(l.partition("=")[::2] for l in opts.label)
    try:
        container = create(
            store, image, args[0], name=opts.name, args=args[1:], entrypoint=opts.entrypoint,
            env=_env(opts), workdir=opts.workdir, user=opts.user, tty=opts.tty,
            stdin_open=opts.interactive, hostname=opts.hostname, init=opts.init,
            binds=_binds(opts.volume), network=network, network_options=network_options,
            mounts=mounts, volumes_from=opts.volumes_from,
            auto_remove=opts.rm, labels=labels, resources=_resources(opts))
    except DaemonError as err:
        raise RunError(str(err), err.exit_code) from None
    return store, container


def run(argv: list[str], path: str) -> int:
    from baleine.engine.start import StartFailed, run_attached, run_detached
    from baleine.engine.containers import remove_files

    opts, args = parse(RUN, argv)
    if opts.tty and opts.interactive and not opts.detach and not os.isatty(0):
        raise BaleineError("the input device is not a TTY")
    store, container = _create(opts, args)
    try:
        if opts.detach:
            run_detached(container)
            sys.stdout.write(container.id + "\n")
            return 0
        code = run_attached(container, stdin=opts.interactive)
    except StartFailed as err:
        container.record["StartError"] = {"message": err.message, "code": err.exit_code}
        if opts.rm:
            remove_files(container)
        else:
            container.save()
        raise RunError(str(_start_failure(err)), err.exit_code) from None
    if opts.rm:
        remove_files(container)
    return code


def _start_failure(err) -> DaemonError:
    """A runtime start error as Docker's daemon words it (its exit code kept: 125/126/127)."""
    return DaemonError("failed to create task for container: failed to create shim task: "
                       f"OCI runtime create failed: runc create failed: {err.message}: unknown", err.exit_code)


def create_cmd(argv: list[str], path: str) -> int:
    opts, args = parse(CREATE, argv)
    _, container = _create(opts, args)
    sys.stdout.write(container.id + "\n")
    return 0


# -- start / stop / kill / restart / wait -----------------------------------------------------

START = Command("container start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
                [Flag("attach", "a", help="Attach STDOUT/STDERR and forward signals"),
                 Flag("interactive", "i", help="Attach container's STDIN")], aliases=("start",), min_args=1)


def _each(args: list[str], action, echo: bool = True) -> int:
    """Apply `action` to each named container; print the name as typed; errors at the end."""
    from baleine.engine.containers import lookup
    root = open_store().root
    errors = []
    for text in args:
        try:
            action(lookup(root, text))
            if echo:
                sys.stdout.write(text + "\n")
        except BaleineError as err:
            errors.append(err)
    sys.stdout.flush()
    for err in errors:
        sys.stderr.write(f"{err}\n")
    return 1 if errors else 0


def start(argv: list[str], path: str) -> int:
    from baleine.engine.containers import lookup
    from baleine.engine.start import StartFailed, run_attached, run_detached

    opts, args = parse(START, argv)
    root = open_store().root
    if opts.attach or opts.interactive:
        container = lookup(root, args[0])
        try:
            return run_attached(container, stdin=opts.interactive)
        except StartFailed as err:
            raise _start_failure(err) from None
        finally:
            if container.record["HostConfig"].get("AutoRemove"):  # `create --rm`, then `start -a`
                from baleine.engine.containers import remove_files
                remove_files(container)

    def start_one(container):
        if container.running:
            return
        try:
            run_detached(container)
        except StartFailed as err:
            raise _start_failure(err) from None
    return _each(args, start_one)


STOP = Command("container stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
               [Flag("signal", "s", "str", help="Signal to send to the container"),
                Flag("time", "t", "int", default=10, help="Seconds to wait before killing the container")],
               aliases=("stop",), min_args=1)


def stop(argv: list[str], path: str) -> int:
    from baleine.engine.containers import stop as stop_container
    opts, args = parse(STOP, argv)
    return _each(args, lambda c: stop_container(c, opts.time, opts.signal))


KILL = Command("container kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
               [Flag("signal", "s", "str", default="KILL", help="Signal to send to the container")],
               aliases=("kill",), min_args=1)


def kill(argv: list[str], path: str) -> int:
    from baleine.engine.containers import kill as kill_container
    opts, args = parse(KILL, argv)

    def kill_one(container):
        if not container.running:
            raise DaemonError(f"cannot kill container: {container.id}: container {container.id} is not running")
        kill_container(container, opts.signal)
    return _each(args, kill_one)


RESTART = Command("container restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
                  [Flag("signal", "s", "str", help="Signal to send to the container"),
                   Flag("time", "t", "int", default=10, help="Seconds to wait before killing the container")],
                  aliases=("restart",), min_args=1)


def restart(argv: list[str], path: str) -> int:
    from baleine.engine.containers import stop as stop_container
    from baleine.engine.start import StartFailed, run_detached
    opts, args = parse(RESTART, argv)

    def restart_one(container):
        stop_container(container, opts.time, opts.signal)
        try:
            run_detached(container)
        except StartFailed as err:
            raise _start_failure(err) from None
    return _each(args, restart_one)


WAIT = Command("container wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
               [], aliases=("wait",), min_args=1)


def wait(argv: list[str], path: str) -> int:
    from baleine.engine.containers import wait_stopped
    _, args = parse(WAIT, argv)

    def wait_one(container):
        wait_stopped(container, None)
        sys.stdout.write(f"{container.state['ExitCode']}\n")
    return _each(args, wait_one, echo=False)


# -- rm / rename / prune ---------------------------------------------------------------------

RM = Command("container rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
             [Flag("force", "f", help="Force the removal of a running container (uses SIGKILL)"),
              Flag("volumes", "v", help="Remove anonymous volumes associated with the container"),
              Flag("link", "l", help="Remove the specified link")], aliases=("container remove", "rm"), min_args=1)


def rm(argv: list[str], path: str) -> int:
    from baleine.engine.containers import lookup, remove
    opts, args = parse(RM, argv)
    root = open_store().root
    errors = []
    for text in args:
        try:
            container = lookup(root, text)
            remove(root, container, force=opts.force)
            if opts.volumes:
                from baleine.engine.volumes import remove_anonymous
                remove_anonymous(root, container.record)
            sys.stdout.write(text + "\n")
        except NotFound as err:
            if not opts.force:
                errors.append(err)
        except BaleineError as err:
            errors.append(err)
    sys.stdout.flush()
    for err in errors:
        sys.stderr.write(f"{err}\n")
    return 1 if errors else 0


RENAME = Command("container rename", "CONTAINER NEW_NAME", "Rename a container", [], aliases=("rename",),
                 min_args=2, max_args=2)


def rename(argv: list[str], path: str) -> int:
    from baleine.engine.containers import NAME_RE, names_lock, all_containers, lookup
    _, args = parse(RENAME, argv)
    root = open_store().root
    new = args[1]
    if not NAME_RE.match(new):
        raise DaemonError(f"Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    with names_lock(root):
        container = lookup(root, args[0])
        for other in all_containers(root):
            if other.name == new.lstrip("/"):
                raise DaemonError(f'Error when allocating new name: Conflict. The container name "/{new}" is '
                                  f'already in use by container "{other.id}". You have to remove (or rename) '
                                  "that container to be able to reuse that name.")
        container.record["Name"] = "/" + new.lstrip("/")
        container.save()
    return 0


PRUNE = Command("container prune", "[OPTIONS]", "Remove all stopped containers",
                [Flag("force", "f", help="Do not prompt for confirmation"),
                 Flag("filter", kind="list", help="Provide filter values")], max_args=0)


def prune(argv: list[str], path: str) -> int:
    from baleine.engine.containers import all_containers, remove_files
    from baleine.format import human_size
    opts, _ = parse(PRUNE, argv)
    if not opts.force:
        sys.stdout.write("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed, reclaimed = [], 0
    for container in all_containers(open_store().root):
        if not container.running:
            reclaimed += tree_size(os.path.join(container.dir, "upper"))
            remove_files(container)
            removed.append(container.id)
    if removed:
        sys.stdout.write("Deleted Containers:\n" + "".join(f"{i}\n" for i in removed) + "\n")
    sys.stdout.write(f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0


# -- commit ------------------------------------------------------------------------------

COMMIT = Command("container commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                 "Create a new image from a container's changes",
                 [Flag("author", "a", "str", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
                  Flag("change", "c", "list", help="Apply Dockerfile instruction to the created image"),
                  Flag("message", "m", "str", help="Commit message"),
                  Flag("pause", "p", default=True, help="Pause container during commit (deprecated)"),
                  Flag("no-pause", help="Disable pausing container during commit")],
                 aliases=("commit",), min_args=1, max_args=2)


def commit(argv: list[str], path: str) -> int:
    from baleine.engine.commit import commit as commit_container
    from baleine.engine.containers import lookup
    opts, args = parse(COMMIT, argv)
    store = open_store()
    refs = []
    if len(args) == 2:
        try:
            refs = [reference.parse_tagged(args[1])]
        except reference.InvalidReference as err:
            raise BaleineError(str(err)) from None
    container = lookup(store.root, args[0])
    image_id = commit_container(store, container, refs, author=opts.author or "",
                                message=opts.message or "", changes=opts.change,
                                pause=opts.pause and not opts.no_pause)
    sys.stdout.write(image_id + "\n")
    return 0


# -- ps ----------------------------------------------------------------------------------

PS = Command("container ls", "[OPTIONS]", "List containers",
             [Flag("all", "a", help="Show all containers (default shows just running)"),
              Flag("filter", "f", "list", help="Filter output based on conditions provided"),
              Flag("format", kind="str", help=FORMAT_HELP),
              Flag("last", "n", "int", default=-1, help="Show n last created containers (includes all states)"),
              Flag("latest", "l", help="Show the latest created container (includes all states)"),
              Flag("no-trunc", help="Don't truncate output"),
              Flag("quiet", "q", help="Only display container IDs"),
              Flag("size", "s", help="Display total file sizes")],
             aliases=("container list", "container ps", "ps"), max_args=0)

PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
              "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "CreatedAt": "CREATED AT",
              "State": "STATE", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
              "LocalVolumes": "LOCAL VOLUMES"}


def status_text(state: dict, now: float) -> str:
    from baleine.format import human_duration
    if state["Running"]:
        return "Up " + human_duration(now - (times.parse(state["StartedAt"]) or now))
    if state["Status"] == "created":
        return "Created"
    finished = times.parse(state["FinishedAt"]) or now
    return f"Exited ({state['ExitCode']}) {human_duration(now - finished)} ago"


def _command_text(record: dict) -> str:
    words = [record["Path"]] + [f"'{a}'" if " " in a else a for a in record["Args"]]
    return " ".join(words)


def ps(argv: list[str], path: str) -> int:
    from baleine.engine.containers import all_containers
    from baleine.engine.networks import ports_text
    from baleine.format import ellipsis, go_quote, human_duration, human_size

    opts, _ = parse(PS, argv)
    containers = all_containers(open_store().root)
    filters = {}
    for f in opts.filter:
        key, eq, value = f.partition("=")
        if not eq or key not in ("status", "name", "id", "label", "exited", "ancestor"):
            raise DaemonError(f"invalid filter '{key}'")
        filters.setdefault(key, []).append(value)
    show_all = opts.all or opts.latest or opts.last >= 0 or "status" in filters or "exited" in filters
    now = time.time()
    rows = []
    for container in containers:
        state = container.state
        if not show_all and not state["Running"]:
            continue
        if not _ps_filter(container, state, filters):
            continue
        record = container.record
        image = _image_column(record["Config"]["Image"], record["Image"], opts.no_trunc)
        command = _command_text(record)
        created = times.parse(record["Created"]) or now
        rows.append({
            "ID": container.id if opts.no_trunc else container.id[:12],
            "Image": image,
            "Command": go_quote(command if opts.no_trunc else ellipsis(command, 20)),
            "CreatedAt": times.go_time_string(created),
            "RunningFor": human_duration(now - created) + " ago",
            "Status": status_text(state, now),
            "State": state["Status"],
            "Ports": ports_text(record) if state["Running"] else "", "Names": container.name,
            "Labels": ",".join(f"{k}={v}" for k, v in sorted((record["Config"].get("Labels") or {}).items())),
            "Mounts": "", "Networks": record["HostConfig"]["NetworkMode"], "LocalVolumes": "0",
            "Size": human_size(tree_size(os.path.join(container.dir, "upper"))) if opts.size else "",
        })
    if opts.latest:
        rows = rows[:1]
    elif opts.last >= 0:
        rows = rows[:opts.last]
    table = PS_TABLE + ("\t{{.Size}}" if opts.size else "")
    print_list(opts.format, rows, default_table=table, headers=PS_HEADERS, quiet=opts.quiet,
               quiet_overrides_format=True)
    return 0


def _image_column(text: str, image_id: str, no_trunc: bool) -> str:
    """The image as typed, familiarised (`docker.io/library/alpine` -> `alpine`), its digest
    dropped unless --no-trunc; an image ID (or a prefix of one) shows as 12 hex."""
    bare = text.removeprefix("sha256:")
    if not text:
        return "<no image>"
    if image_id.removeprefix("sha256:").startswith(bare) and all(c in "0123456789abcdef" for c in bare):
        return image_id.removeprefix("sha256:") if no_trunc else bare[:12]
    try:
        ref = reference.parse(text)
    except reference.InvalidReference:
        return text
    if ref.digest and not no_trunc and ref.tag is None:
        return ref.familiar_name
    if ref.digest and not no_trunc:
        ref.digest = None
    return ref.familiar()


def _ps_filter(container, state, filters) -> bool:
    if "status" in filters and state["Status"] not in filters["status"]:
        return False
    if "name" in filters and not any(v in container.name for v in filters["name"]):
        return False
    if "id" in filters and not any(container.id.startswith(v) for v in filters["id"]):
        return False
    if "exited" in filters and (state["Running"] or str(state["ExitCode"]) not in filters["exited"]):
        return False
    labels = container.record["Config"].get("Labels") or {}
    for spec in filters.get("label", []):
        key, eq, value = spec.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    if "ancestor" in filters and not any(v in (container.record["Config"]["Image"], container.record["Image"])
                                         for v in filters["ancestor"]):
        return False
    return True


# -- logs ----------------------------------------------------------------------------------

LOGS = Command("container logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container",
               [Flag("follow", "f", help="Follow log output"),
                Flag("tail", "n", "str", default="all", help="Number of lines to show from the end of the logs"),
                Flag("timestamps", "t", help="Show timestamps"),
                Flag("details", help="Show extra details provided to logs"),
                Flag("since", kind="str", help="Show logs since timestamp"),
                Flag("until", kind="str", help="Show logs before a timestamp")],
               aliases=("logs",), min_args=1, max_args=1)


def _fixed_nanos(stamp: str) -> str:
    """Docker prints log times with all nine fraction digits (RFC3339NanoFixed)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return f"{head}.{frac.ljust(9, '0')[:9]}Z"


def _log_time(text: str | None, flag: str) -> float | None:
    """--since/--until: RFC 3339, Unix seconds, or a duration before now (10m, 1h30m)."""
    if not text:
        return None
    import re
    stamp = times.parse(text)
    if stamp is not None:
        return stamp
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)", text)
    if parts and "".join(n + u for n, u in parts) == text:
        return time.time() - sum(float(n) * units[u] for n, u in parts)
    raise BaleineError(f'invalid value for "{flag}": failed to parse value as time or duration: "{text}"')


def _in_window(stamp: str, since: float | None, until: float | None) -> bool:
    if since is None and until is None:
        return True
    when = times.parse(stamp) or 0
    return (since is None or when >= since) and (until is None or when <= until)


def logs(argv: list[str], path: str) -> int:
    import json
    from baleine.engine.containers import lookup

    opts, args = parse(LOGS, argv)
    container = lookup(open_store().root, args[0])
    try:
        with open(container.log_path, "rb") as f:
            lines = f.read().splitlines()
            position = f.tell()
    except FileNotFoundError:
        lines, position = [], 0
    since, until = _log_time(opts.since, "since"), _log_time(opts.until, "until")
    if since is not None or until is not None:
        lines = [raw for raw in lines if _in_window(json.loads(raw)["time"], since, until)]
    if opts.tail != "all":
        try:
            count = int(opts.tail)
        except ValueError:
            raise BaleineError(f'invalid value for "tail": "{opts.tail}"') from None
        lines = lines[-count:] if count > 0 else []

    def emit(raw: bytes) -> None:
        entry = json.loads(raw)
        if not _in_window(entry["time"], since, until):
            return
        text = entry["log"]
        if opts.timestamps:
            text = _fixed_nanos(entry["time"]) + " " + text
        stream = sys.stdout if entry["stream"] == "stdout" else sys.stderr
        stream.write(text)
        stream.flush()

    for raw in lines:
        emit(raw)
    if opts.follow:
        from baleine.engine.logs import follow
        follow(container, position, emit)
    return 0


# -- inspect -------------------------------------------------------------------------------

CONTAINER_INSPECT = Command("container inspect", "[OPTIONS] CONTAINER [CONTAINER...]",
                            "Display detailed information on one or more containers",
                            [Flag("format", "f", "str", help=FORMAT_HELP),
                             Flag("size", "s", help="Display total file sizes")], min_args=1)


def inspect_record(container) -> dict:
    """Docker's container JSON, keys in Docker's order."""
    record = container.record
    d = container.dir
    out = {"Id": container.id, "Created": record["Created"], "Path": record["Path"], "Args": record["Args"],
           "State": container.state, "Image": record["Image"],
           "ResolvConfPath": os.path.join(d, "resolv.conf"), "HostnamePath": os.path.join(d, "hostname"),
           "HostsPath": os.path.join(d, "hosts"), "LogPath": container.log_path, "Name": record["Name"],
           "RestartCount": 0, "Driver": record.get("Driver", "overlay"), "Platform": record.get("Platform", "linux"),
           "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
           "HostConfig": record["HostConfig"],
           "GraphDriver": ({"Data": {"UpperDir": os.path.join(d, "upper"), "WorkDir": os.path.join(d, "work")},
                            "Name": "overlay"} if record.get("Driver", "overlay") == "overlay"
                           else {"Data": {"RootDir": os.path.join(d, "bundle", "rootfs")}, "Name": "vfs"}),
           "Mounts": record.get("Mounts") or [], "Config": record["Config"],
           "NetworkSettings": record.get("NetworkSettings") or {"Networks": {record["HostConfig"]["NetworkMode"]: {}}}}
    for key, value in record.items():  # fields other features add (volumes, networks)
        if key not in out and key != "StartError":
            out[key] = value
    return out


def find_record(root: str, text: str) -> dict | None:
    """`docker inspect X`: the container's JSON if X names a container, else None."""
    from baleine.engine.containers import lookup
    try:
        return inspect_record(lookup(root, text))
    except BaleineError:
        return None


def inspect(argv: list[str], path: str) -> int:
    from baleine.engine.containers import lookup
    opts, args = parse(CONTAINER_INSPECT, argv)
    root = open_store().root
    objects, errors = [], []
    for text in args:
        try:
            objects.append(inspect_record(lookup(root, text)))
        except BaleineError as err:
            errors.append(err)
    return print_inspect(opts.format, objects, errors)
