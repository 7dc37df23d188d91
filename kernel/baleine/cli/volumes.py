"""`volume create/ls/inspect/rm/prune`, and the mount flags of `run`/`create`."""

from __future__ import annotations

import sys

from baleine.cli.output import print_inspect, print_list
from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError
from baleine.store import open_store

FORMAT_HELP = "Format output using a custom template"


def run_mount_options(opts) -> list[dict]:
    """`--mount` values, parsed (ValueError with Docker's text)."""
    from baleine.engine.volumes import parse_mount_flag
    mounts = []
    for text in opts.mount:
        try:
            mounts.append(parse_mount_flag(text))
        except ValueError as err:
            raise ValueError(f'invalid argument "{text}" for "--mount" flag: {err}') from None
    return mounts


def _root() -> str:
    return open_store().root


def _labels(items: list[str]) -> dict:
    return dict(item.partition("=")[::2] for item in items)


CREATE = Command("volume create", "[OPTIONS] [VOLUME]", "Create a volume",
                 [Flag("driver", "d", "str", default="local", help="Specify volume driver name"),
                  Flag("label", kind="list", help="Set metadata for a volume"),
                  Flag("name", kind="str", help="Specify volume name"),
                  Flag("opt", "o", "list", help="Set driver specific options")], max_args=1)


def create(argv: list[str], path: str) -> int:
    from baleine.engine import volumes
    opts, args = parse(CREATE, argv)
    if args and opts.name and args[0] != opts.name:
        raise BaleineError("conflicting options: either specify --name or provide positional arg, not both")
    if opts.driver != "local":
        raise BaleineError(f'Error response from daemon: create {args[0] if args else ""}: '
                           f'error looking up volume plugin {opts.driver}: plugin "{opts.driver}" not found')
    name = args[0] if args else opts.name
    record, _ = volumes.create(_root(), name, labels=_labels(opts.label), options=_labels(opts.opt))
    sys.stdout.write(record["Name"] + "\n")
    return 0


LS = Command("volume ls", "[OPTIONS]", "List volumes",
             [Flag("cluster", help="Display only cluster volumes, and use cluster volume list formatting"),
              Flag("filter", "f", "list", help="Provide filter values (e.g. \"dangling=true\")"),
              Flag("format", kind="str", help=FORMAT_HELP),
              Flag("quiet", "q", help="Only display volume names")],
             aliases=("volume list",), max_args=0)


def ls(argv: list[str], path: str) -> int:
    from baleine.engine import volumes
    opts, _ = parse(LS, argv)
    root = _root()
    filters: dict[str, list[str]] = {}
    for f in opts.filter:
        key, eq, value = f.partition("=")
        if not eq or key not in ("dangling", "name", "label", "driver"):
            raise BaleineError(f"Error response from daemon: invalid filter '{key}'")
        filters.setdefault(key, []).append(value)
    rows = []
    for record in volumes.all_volumes(root):
        if "name" in filters and not any(v in record["Name"] for v in filters["name"]):
            continue
        if "driver" in filters and record["Driver"] not in filters["driver"]:
            continue
        if "label" in filters and not volumes._labels_match(record, filters["label"]):
            continue
        if "dangling" in filters:
            dangling = not volumes.users(root, record["Name"])
            if (filters["dangling"][-1].lower() in ("true", "1")) != dangling:
                continue
        labels = ",".join(f"{k}={v}" for k, v in sorted((record.get("Labels") or {}).items()))
        rows.append({"Driver": record["Driver"], "Name": record["Name"], "Mountpoint": record["Mountpoint"],
                     "Scope": record["Scope"], "Labels": labels, "Links": "N/A", "Size": "N/A",
                     "Availability": "N/A", "Group": "N/A", "Status": "N/A"})
    print_list(opts.format, rows, default_table="table {{.Driver}}\t{{.Name}}",
               headers={"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE",
                        "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE"},
               quiet=opts.quiet, quiet_template="{{.Name}}")
    return 0


INSPECT = Command("volume inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
                  [Flag("format", "f", "str", help=FORMAT_HELP)], min_args=1)


def inspect(argv: list[str], path: str) -> int:
    from baleine.engine import volumes
    opts, args = parse(INSPECT, argv)
    root = _root()
    found, errors = [], []
    for name in args:
        record = volumes.get(root, name)
        if record is None:
            errors.append(f"Error response from daemon: get {name}: no such volume")
        else:
            found.append(record)
    return print_inspect(opts.format, found, errors)


RM = Command("volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
             [Flag("force", "f", help="Force the removal of one or more volumes")],
             aliases=("volume remove",), min_args=1)


def rm(argv: list[str], path: str) -> int:
    from baleine.engine import volumes
    opts, args = parse(RM, argv)
    root = _root()
    errors = []
    for name in args:
        try:
            volumes.remove(root, name, force=opts.force)
            sys.stdout.write(name + "\n")
        except BaleineError as err:
            errors.append(str(err))
    sys.stdout.flush()
    for e in errors:
        sys.stderr.write(e + "\n")
    return 1 if errors else 0


PRUNE = Command("volume prune", "[OPTIONS]", "Remove unused local volumes",
                [Flag("all", "a", help="Remove all unused volumes, not just anonymous ones"),
                 Flag("filter", kind="list", help='Provide filter values (e.g. "label=<label>")'),
                 Flag("force", "f", help="Do not prompt for confirmation")], max_args=0)


def prune(argv: list[str], path: str) -> int:
    from baleine.engine import volumes
    from baleine.format import human_size
    opts, _ = parse(PRUNE, argv)
    if not opts.force:
        what = "local volumes" if opts.all else "anonymous local volumes"
        sys.stdout.write(f"WARNING! This will remove {what} not used by at least one container.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    labels = [f.partition("=")[2] for f in opts.filter if f.startswith("label=")]
    all_too = opts.all or any(f in ("all=true", "all=1") for f in opts.filter)
    removed, reclaimed = volumes.prune(_root(), all_too, labels)
    if removed:
        sys.stdout.write("Deleted Volumes:\n" + "".join(n + "\n" for n in removed) + "\n")
    sys.stdout.write(f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0
