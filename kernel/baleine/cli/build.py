"""`docker build` (BuildKit's behaviour, as `docker buildx build`) and `docker builder prune`."""

from __future__ import annotations

import os
import sys

from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError

BUILD = Command(
    "buildx build", "[OPTIONS] PATH | URL | -", "Start a build",
    [Flag("build-arg", kind="list", help="Set build-time variables", metavar="stringArray"),
     Flag("file", "f", "str", help='Name of the Dockerfile (default: "PATH/Dockerfile")', metavar="string"),
     Flag("iidfile", kind="str", help="Write the image ID to a file", metavar="string"),
     Flag("label", kind="list", help="Set metadata for an image", metavar="stringArray"),
     Flag("network", kind="str", default="default",
          help="Set the networking mode for the \"RUN\" instructions during build"),
     Flag("no-cache", help="Do not use cache when building the image"),
     Flag("platform", kind="list", help="Set target platform for build", metavar="stringArray"),
     Flag("progress", kind="str", default="auto",
          help='Set type of progress output ("auto", "quiet", "plain", "tty", "rawjson"). '
               'Use plain to show container output'),
     Flag("pull", help="Always attempt to pull all referenced images"),
     Flag("quiet", "q", help="Suppress the build output and print image ID on success"),
     Flag("rm", kind="bool", default=True, help="Remove intermediate containers after a successful build"),
     Flag("force-rm", help="Always remove intermediate containers"),
     Flag("tag", "t", "list", help='Name and optionally a tag (format: "name:tag")', metavar="stringArray"),
     Flag("target", kind="str", help="Set the target build stage to build", metavar="string")],
    aliases=("build", "image build", "builder build"), min_args=1, max_args=1)

PRUNE = Command(
    "builder prune", "", "Remove build cache",
    [Flag("all", "a", help="Remove all unused build cache, not just dangling ones"),
     Flag("filter", kind="list", help="Provide filter values (e.g. \"until=24h\")", metavar="filter"),
     Flag("force", "f", help="Do not prompt for confirmation")],
    max_args=0)


def _fail(message: str) -> int:
    sys.stderr.write(f"ERROR: {message}\n")
    return 1


def _tags(values: list[str]):
    from baleine import reference
    refs = []
    for value in values:
        try:
            refs.append(reference.parse(value).with_default_tag())
        except BaleineError as err:
            raise BaleineError(f'ERROR: invalid tag "{value}": {err}', 1) from None
    return refs


def _key_values(values: list[str], from_env: bool) -> dict[str, str]:
    out = {}
    for value in values:
        key, eq, val = value.partition("=")
        if not eq:
            if not from_env or key not in os.environ:
                continue  # `--build-arg NAME` takes the client's variable when set
            val = os.environ[key]
        out[key] = val
    return out


def build(argv: list[str], path: str) -> int:
    opts, args = parse(BUILD, argv)
    from baleine.build.builder import Builder, Options
    from baleine.build.errors import BuildError, source_excerpt
    from baleine.build.progress import Progress
    from baleine.store import open_store

    if opts.progress not in ("auto", "plain", "tty", "quiet", "rawjson"):
        return _fail(f"failed to create progress writer: invalid progress mode {opts.progress}")
    tags = _tags(opts.tag)
    target = args[0]
    context = None
    name = "Dockerfile"
    if target == "-":
        if opts.file not in (None, "", "-"):
            return _fail("unable to prepare context: DOCKERFILE cannot be specified with stdin")
        text = sys.stdin.buffer.read()
    else:
        if not os.path.isdir(target):
            if not os.path.exists(target):
                return _fail(f'unable to prepare context: path "{target}" not found')
            return _fail(f'unable to prepare context: context must be a directory: {target}')
        context = target
        if opts.file == "-":
            text = sys.stdin.buffer.read()
        else:
            dockerfile = opts.file or os.path.join(target, "Dockerfile")
            name = os.path.basename(dockerfile)
            try:
                with open(dockerfile, "rb") as f:
                    text = f.read()
            except OSError as err:
                reason = (err.strerror or str(err)).lower()
                return _fail(f"failed to solve: failed to read dockerfile: open {name}: {reason}")
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError:
        text = text.decode("utf-8", "surrogateescape")
    quiet = opts.quiet or opts.progress == "quiet"
    progress = Progress("quiet" if quiet else "plain")
    options = Options(dockerfile=text, dockerfile_name=name, context=context, tags=tags,
                      build_args=_key_values(opts.build_arg, True), target=opts.target or "",
                      no_cache=opts.no_cache, pull=opts.pull, labels=_key_values(opts.label, False),
                      network=opts.network or "default")
    if options.network not in ("default", "host", "none"):
        return _fail(f"failed to solve: network mode \"{options.network}\" not supported by buildkit")
    builder = Builder(open_store(), options, progress)
    try:
        image_id, _ = builder.run()
    except BuildError as err:
        sys.stdout.flush()
        detail = getattr(err, "detail", None)
        if detail is not None:
            label = getattr(err, "label", "")
            sys.stderr.write("------\n > " + label + ":\n" + "".join(line + "\n" for line in detail) + "------\n")
        if err.lines:
            sys.stderr.write(source_excerpt(name, text, err.lines[0], err.lines[1]))
        return _fail(f"failed to solve: {err.message}")
    except KeyboardInterrupt:
        return _fail("failed to solve: Canceled: context canceled")
    if builder.warnings and not quiet:
        count = len(builder.warnings)
        sys.stderr.write(f" {count} warning{'s' if count > 1 else ''} found (use docker --debug to expand):\n"
                         + "".join(f" - {w}\n" for w in builder.warnings))
    if opts.iidfile:
        with open(opts.iidfile, "w") as f:
            f.write(image_id)
    if quiet and opts.quiet:
        sys.stdout.write(image_id + "\n")
    return 0


def prune(argv: list[str], path: str) -> int:
    from baleine.build.cache import BuildCache
    from baleine.format import human_size
    from baleine.store import open_store

    opts, _ = parse(PRUNE, argv)
    if not opts.force:
        sys.stdout.write("WARNING! This will remove all dangling build cache. "
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    store = open_store()
    freed = BuildCache(store.root).prune(store)
    sys.stdout.write(f"Total reclaimed space: {human_size(freed)}\n")
    return 0
