"""`network create/ls/inspect/rm/connect/disconnect/prune`, `port`, and the network flags of
`run`/`create`."""

from __future__ import annotations

import sys

from baleine.cli.output import print_inspect, print_list
from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError
from baleine.store import open_store

FORMAT_HELP = "Format output using a custom template"


def run_network_options(root: str, opts) -> tuple[str, dict]:
    """(NetworkMode, options for engine.networks.configure) from `run`/`create` flags.

    Baleine's default network stays `host` (apt-get works everywhere, with or without
    slirp4netns); publishing ports (-p/-P) picks Docker's default, `bridge`."""
    from baleine.engine import networks
    ports: dict[str, list] = {}
    for text in opts.publish:
        for key, binding in networks.parse_publish(text):
            ports.setdefault(key, []).append(binding)
    exposed = []
    for text in opts.expose:
        number, _, proto = text.partition("/")
        start, _, end = number.partition("-")
        try:
            exposed += [f"{p}/{proto or 'tcp'}" for p in range(int(start), int(end or start) + 1)]
        except ValueError:
            raise ValueError(f"invalid range format for --expose: {text}") from None
    mode = opts.network
    if mode in (None, "", "default"):
        mode = "bridge" if (ports or opts.publish_all) else "host"
    if mode == "host" and (ports or opts.publish_all):
        sys.stderr.write("WARNING: Published ports are discarded when using host network mode\n")
        ports, publish = {}, False
    else:
        publish = opts.publish_all
    if mode.startswith("container:") and (ports or publish or exposed):
        raise ValueError("conflicting options: port publishing and the container type network mode")
    if mode not in ("host", "none") and not mode.startswith("container:"):
        networks.lookup(root, mode)  # "network x not found" before anything else
    return mode, {"aliases": list(opts.network_alias), "ports": ports, "publish_all": publish,
                  "exposed": exposed}


def _root() -> str:
    return open_store().root


CREATE = Command("network create", "[OPTIONS] NETWORK", "Create a network",
                 [Flag("attachable", help="Enable manual container attachment"),
                  Flag("driver", "d", "str", default="bridge", help="Driver to manage the Network"),
                  Flag("gateway", kind="list", help="IPv4 or IPv6 Gateway for the master subnet"),
                  Flag("internal", help="Restrict external access to the network"),
                  Flag("ipv6", help="Enable or disable IPv6 networking"),
                  Flag("label", kind="list", help="Set metadata on a network"),
                  Flag("opt", "o", "list", help="Set driver specific options"),
                  Flag("subnet", kind="list", help="Subnet in CIDR format that represents a network segment")],
                 min_args=1, max_args=1)


def create(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    opts, args = parse(CREATE, argv)
    record = networks.create(_root(), args[0], driver=opts.driver,
                             subnet=opts.subnet[0] if opts.subnet else None,
                             gateway=opts.gateway[0] if opts.gateway else None, internal=opts.internal,
                             labels=dict(l.partition("=")[::2] for l in opts.label),
                             options=dict(o.partition("=")[::2] for o in opts.opt), attachable=opts.attachable)
    sys.stdout.write(record["Id"] + "\n")
    return 0


LS = Command("network ls", "[OPTIONS]", "List networks",
             [Flag("filter", "f", "list", help='Provide filter values (e.g. "driver=bridge")'),
              Flag("format", kind="str", help=FORMAT_HELP),
              Flag("no-trunc", help="Do not truncate the output"),
              Flag("quiet", "q", help="Only display network IDs")],
             aliases=("network list",), max_args=0)


def ls(argv: list[str], path: str) -> int:
    from baleine import times
    from baleine.engine import networks
    opts, _ = parse(LS, argv)
    filters: dict[str, list[str]] = {}
    for f in opts.filter:
        key, eq, value = f.partition("=")
        if not eq or key not in ("driver", "id", "label", "name", "scope", "type", "dangling"):
            raise BaleineError(f"Error response from daemon: invalid filter '{key}'")
        filters.setdefault(key, []).append(value)
    root = _root()
    rows = []
    for n in sorted(networks.all_networks(root), key=lambda n: n["Name"]):
        if not _matches(root, n, filters):
            continue
        labels = ",".join(f"{k}={v}" for k, v in sorted((n.get("Labels") or {}).items()))
        rows.append({"ID": n["Id"] if opts.no_trunc else n["Id"][:12], "Name": n["Name"], "Driver": n["Driver"],
                     "Scope": n["Scope"], "IPv6": str(n["EnableIPv6"]).lower(),
                     "Internal": str(n["Internal"]).lower(), "Labels": labels,
                     "CreatedAt": times.go_time_string(times.parse(n["Created"]) or 0)})
    print_list(opts.format, rows, default_table="table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
               headers={"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                        "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED"},
               quiet=opts.quiet)
    return 0


def _matches(root: str, n: dict, filters: dict) -> bool:
    from baleine.engine import networks
    if "driver" in filters and n["Driver"] not in filters["driver"]:
        return False
    if "id" in filters and not any(n["Id"].startswith(v) for v in filters["id"]):
        return False
    if "name" in filters and not any(v in n["Name"] for v in filters["name"]):
        return False
    if "scope" in filters and n["Scope"] not in filters["scope"]:
        return False
    if "type" in filters:
        kind = "builtin" if n["Name"] in networks.PREDEFINED else "custom"
        if kind not in filters["type"]:
            return False
    if "dangling" in filters:
        dangling = n["Name"] not in networks.PREDEFINED and not networks.users(root, n, running_only=False)
        if (filters["dangling"][-1].lower() in ("true", "1")) != dangling:
            return False
    labels = n.get("Labels") or {}
    for spec in filters.get("label", []):
        key, eq, value = spec.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


INSPECT = Command("network inspect", "[OPTIONS] NETWORK [NETWORK...]",
                  "Display detailed information on one or more networks",
                  [Flag("format", "f", "str", help=FORMAT_HELP),
                   Flag("verbose", "v", help="Verbose output for diagnostics")], min_args=1)


def inspect(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    opts, args = parse(INSPECT, argv)
    root = _root()
    found, errors = [], []
    for text in args:
        try:
            found.append(networks.inspect_record(root, networks.lookup(root, text)))
        except BaleineError as err:
            errors.append(str(err))
    return print_inspect(opts.format, found, errors)


RM = Command("network rm", "NETWORK [NETWORK...]", "Remove one or more networks",
             [Flag("force", "f", help="Do not error if the network does not exist")],
             aliases=("network remove",), min_args=1)


def rm(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    from baleine.errors import NotFound
    opts, args = parse(RM, argv)
    root = _root()
    errors = []
    for text in args:
        try:
            networks.remove(root, text)
            sys.stdout.write(text + "\n")
        except NotFound as err:
            if not opts.force:
                errors.append(str(err))
        except BaleineError as err:
            errors.append(str(err))
    sys.stdout.flush()
    for e in errors:
        sys.stderr.write(e + "\n")
    return 1 if errors else 0


CONNECT = Command("network connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
                  [Flag("alias", kind="list", help="Add network-scoped alias for the container"),
                   Flag("ip", kind="str", help="IPv4 address (e.g., \"172.30.100.104\")")],
                  min_args=2, max_args=2)


def connect(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    from baleine.engine.containers import lookup
    opts, args = parse(CONNECT, argv)
    root = _root()
    networks.connect(root, lookup(root, args[1]), args[0], opts.alias, opts.ip)
    return 0


DISCONNECT = Command("network disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
                     [Flag("force", "f", help="Force the container to disconnect from a network")],
                     min_args=2, max_args=2)


def disconnect(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    from baleine.engine.containers import lookup
    opts, args = parse(DISCONNECT, argv)
    root = _root()
    networks.disconnect(root, lookup(root, args[1]), args[0], opts.force)
    return 0


PRUNE = Command("network prune", "[OPTIONS]", "Remove all unused networks",
                [Flag("filter", kind="list", help='Provide filter values (e.g. "until=<timestamp>")'),
                 Flag("force", "f", help="Do not prompt for confirmation")], max_args=0)


def prune(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    opts, _ = parse(PRUNE, argv)
    if not opts.force:
        sys.stdout.write("WARNING! This will remove all custom networks not used by at least one container.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    root = _root()
    removed = []
    for n in sorted(networks.all_networks(root), key=lambda n: n["Name"]):
        if n["Name"] in networks.PREDEFINED or networks.users(root, n, running_only=False):
            continue
        try:
            networks.remove(root, n["Id"])
            removed.append(n["Name"])
        except BaleineError:
            continue
    if removed:
        sys.stdout.write("Deleted Networks:\n" + "".join(n + "\n" for n in removed))
    return 0


PORT = Command("container port", "CONTAINER [PRIVATE_PORT[/PROTO]]",
               "List port mappings or a specific mapping for the container", [], aliases=("port",),
               min_args=1, max_args=2)


def port(argv: list[str], path: str) -> int:
    from baleine.engine import networks
    from baleine.engine.containers import lookup
    _, args = parse(PORT, argv)
    container = lookup(_root(), args[0])
    lines = networks.port_lines(container, args[1] if len(args) > 1 else None)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0
