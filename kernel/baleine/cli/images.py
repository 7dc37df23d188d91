"""`images`, `history`, `tag`, `rmi`, `inspect`, `image prune`: flags, then output."""

from __future__ import annotations

import sys
import time

from baleine import reference, times
from baleine.cli.output import print_inspect, print_list
from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError, DaemonError, NotFound
from baleine.store import open_store

FORMAT_HELP = ("Format output using a custom template:\n'table':            Print output in table format "
               "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
               "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "
               "output using the given Go template.")


def _fail_to_daemon(err: BaleineError) -> BaleineError:
    """Reference errors come back from Docker's daemon with its prefix."""
    if isinstance(err, reference.InvalidReference):
        return DaemonError(str(err))
    return err


def _since(created: float | None, now: float) -> str:
    from baleine.format import human_duration
    if created is None:
        return "N/A"
    return human_duration(now - created) + " ago"


# -- images ---------------------------------------------------------------------------------

IMAGES = Command(
    "image ls", "[OPTIONS] [REPOSITORY[:TAG]]", "List images",
    [Flag("all", "a", help="Show all images (default hides intermediate images)"),
     Flag("digests", help="Show digests"),
     Flag("filter", "f", "list", help="Filter output based on conditions provided", metavar="filter"),
     Flag("format", kind="str", help=FORMAT_HELP),
     Flag("no-trunc", help="Don't truncate output"),
     Flag("quiet", "q", help="Only show image IDs")],
    aliases=("image list", "images"), max_args=1)

IMAGES_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}"
                "{{else}}N/A{{end}}\t{{.Size}}")
IMAGES_DIGESTS_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}"
                        "{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}")
IMAGES_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
                  "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                  "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}


def list_images(argv: list[str], path: str) -> int:
    opts, args = parse(IMAGES, argv)
    from baleine.engine.image_filters import ImageFilter
    from baleine.format import human_size, truncate_id

    store = open_store()
    filters = list(opts.filter)
    if args:
        filters.append(f"reference={args[0]}")
    images = store.images()
    image_filter = ImageFilter(store, images, filters)
    now = time.time()
    rows = []
    for image in sorted(images, key=lambda i: times.parse(i.created) or 0, reverse=True):
        if not image_filter.keep(image):
            continue
        created = times.parse(image.created)
        common = {
            "ID": image.id if opts.no_trunc else truncate_id(image.id),
            "CreatedSince": _since(created, now) if created is not None else "",
            "CreatedAt": times.go_time_string(created) if created is not None else "",
            "Size": human_size(image.size, 3),
            "Containers": "N/A", "SharedSize": "N/A", "UniqueSize": "N/A",
        }
        for repo, tag, digest in _image_rows(image, image_filter):
            rows.append({"Containers": common["Containers"], "CreatedAt": common["CreatedAt"],
                         "CreatedSince": common["CreatedSince"], "Digest": digest,
                         "ID": common["ID"], "Repository": repo, "SharedSize": "N/A",
                         "Size": common["Size"], "Tag": tag, "UniqueSize": "N/A"})
    fmt = opts.format
    default = IMAGES_DIGESTS_TABLE if opts.digests else IMAGES_TABLE
    if opts.digests and fmt and fmt.startswith("table") and "{{.Digest}}" not in fmt:
        fmt += "\t{{.Digest}}"
    print_list(fmt, rows, default_table=default, headers=IMAGES_HEADERS, quiet=opts.quiet)
    if args and not rows and path == "images" and args[0] in {"ls", "list", "rm", "remove", "prune",
                                                               "inspect", "history", "tag", "load",
                                                               "save", "import", "pull", "push", "build"}:
        sys.stderr.write(f'No images found matching "{args[0]}": did you mean "docker image {args[0]}"?\n')
    return 0


def _image_rows(image, image_filter) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) rows: one per tag, or one <none> row for a dangling image."""
    if image.dangling:
        return [("<none>", "<none>", "<none>")]
    digests = {r.name: r.digest for r in image.repo_digests}
    rows = []
    for ref in sorted(image.tags, key=lambda r: (r.familiar_name, r.tag)):
        if image_filter.shows_reference(ref):
            rows.append((ref.familiar_name, ref.tag, digests.get(ref.name, "<none>")))
    tagged_names = {r.name for r in image.tags}
    for ref in image.repo_digests:
        if ref.name not in tagged_names and image_filter.shows_reference(ref):
            rows.append((ref.familiar_name, "<none>", ref.digest))
    return rows


# -- history --------------------------------------------------------------------------------

HISTORY = Command(
    "image history", "[OPTIONS] IMAGE", "Show the history of an image",
    [Flag("format", kind="str", help=FORMAT_HELP),
     Flag("human", "H", default=True, help="Print sizes and dates in human readable format (default true)"),
     Flag("no-trunc", help="Don't truncate output"),
     Flag("quiet", "q", help="Only show image IDs")],
    aliases=("history",), min_args=1, max_args=1)

HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def history(argv: list[str], path: str) -> int:
    opts, args = parse(HISTORY, argv)
    from baleine.engine.images import history as history_rows
    from baleine.format import ellipsis, human_size, truncate_id

    store = open_store()
    try:
        image = store.lookup(args[0])
    except BaleineError as err:
        raise _fail_to_daemon(err) from None
    now = time.time()
    rows = []
    for row in history_rows(image):
        created = row["created"]
        valid = created is not None and created > 946684800  # Docker: N/A before 2000-01-01
        created_at = times.local_rfc3339(created) if created is not None else ""
        if opts.human:
            since = _since(created, now) if valid else "N/A"
        else:
            since = created_at
        rows.append({
            "Comment": row["comment"],
            "CreatedAt": created_at,
            "CreatedBy": row["created_by"] if opts.no_trunc else ellipsis(row["created_by"], 45),
            "CreatedSince": since,
            "ID": row["id"] if opts.no_trunc else truncate_id(row["id"]),
            "Size": human_size(row["size"], 3) if opts.human else str(row["size"]),
        })
    default = ("table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}" if opts.human
               else "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
    print_list(opts.format, rows, default_table=default, headers=HISTORY_HEADERS, quiet=opts.quiet)
    return 0


# -- tag ------------------------------------------------------------------------------------

TAG = Command("image tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
              "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", [], aliases=("tag",),
              min_args=2, max_args=2)


def tag(argv: list[str], path: str) -> int:
    from baleine.engine.images import tag as tag_image

    _, args = parse(TAG, argv)
    try:
        tag_image(open_store(), args[0], args[1])
    except BaleineError as err:
        raise _fail_to_daemon(err) from None
    return 0


# -- rmi ------------------------------------------------------------------------------------

RMI = Command(
    "image rm", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
    [Flag("force", "f", help="Force removal of the image"),
     Flag("no-prune", help="Do not delete untagged parents")],
    aliases=("image remove", "rmi"), min_args=1)


def remove(argv: list[str], path: str) -> int:
    from baleine.engine.images import remove as remove_image

    opts, args = parse(RMI, argv)
    store = open_store()
    errors: list[BaleineError] = []
    for text in args:
        try:
            # --no-prune is accepted: Baleine never leaves untagged parents behind to prune.
            for kind, value in remove_image(store, text, force=opts.force):
                sys.stdout.write(f"{kind}: {value}\n")
        except BaleineError as err:
            errors.append(_fail_to_daemon(err))
    sys.stdout.flush()
    for err in errors:
        sys.stderr.write(f"{err}\n")
    if any(not (opts.force and isinstance(err, NotFound)) for err in errors):
        return 1
    return 0


# -- inspect --------------------------------------------------------------------------------

IMAGE_INSPECT = Command(
    "image inspect", "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
    [Flag("format", "f", "str", help=FORMAT_HELP)], min_args=1)

INSPECT = Command(
    "inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Docker objects",
    [Flag("format", "f", "str", help=FORMAT_HELP),
     Flag("size", "s", help="Display total file sizes if the type is container"),
     Flag("type", kind="str", help="Only inspect objects of the given type")], min_args=1)


def inspect_images(argv: list[str], path: str) -> int:
    return _inspect(IMAGE_INSPECT, argv, lambda text, err: err)


def inspect_any(argv: list[str], path: str) -> int:
    # Containers, volumes and networks join here as they exist; the error names an "object".
    return _inspect(INSPECT, argv, lambda text, err: BaleineError(f"Error: No such object: {text}")
                    if isinstance(err, NotFound) else err, containers=True)


def _inspect(command: Command, argv: list[str], translate, containers: bool = False) -> int:
    from baleine.engine.images import inspect as inspect_image

    opts, args = parse(command, argv)
    store = open_store()
    objects, errors = [], []
    for text in args:
        if containers:  # like Docker: a container of that name or ID wins over an image
            from baleine.cli.containers import find_record
            record = find_record(store.root, text)
            if record is not None:
                objects.append(record)
                continue
        try:
            objects.append(inspect_image(store.lookup(text)))
        except BaleineError as err:
            errors.append(translate(text, _fail_to_daemon(err)))
    return print_inspect(opts.format, objects, errors)


# -- prune ----------------------------------------------------------------------------------

PRUNE = Command(
    "image prune", "[OPTIONS]", "Remove unused images",
    [Flag("all", "a", help="Remove all unused images, not just dangling ones"),
     Flag("filter", kind="list", help='Provide filter values (e.g. "until=<timestamp>")', metavar="filter"),
     Flag("force", "f", help="Do not prompt for confirmation")], max_args=0)


def prune(argv: list[str], path: str) -> int:
    from baleine.engine.images import prune as prune_images
    from baleine.format import human_size

    opts, _ = parse(PRUNE, argv)
    if not opts.force:
        what = ("all images without at least one container associated to them" if opts.all
                else "all dangling images")
        sys.stdout.write(f"WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            sys.stdout.write("\n" if not answer else "")
            return 0
    records, reclaimed = prune_images(open_store(), opts.all, opts.filter)
    if records:
        sys.stdout.write("Deleted Images:\n")
        for kind, value in records:
            sys.stdout.write(f"{kind.lower()}: {value}\n")
        sys.stdout.write("\n")
    sys.stdout.write(f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0
