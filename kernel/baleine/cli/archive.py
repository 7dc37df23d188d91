"""`import`, `load`, `save`."""

from __future__ import annotations

import os
import sys

from baleine import reference
from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError, DaemonError
from baleine.store import open_store

IMPORT = Command(
    "image import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    "Import the contents from a tarball to create a filesystem image",
    [Flag("change", "c", "list", help="Apply Dockerfile instruction to the created image"),
     Flag("message", "m", "str", help="Set commit message for imported image"),
     Flag("platform", kind="str", help="Set platform if server is multi-platform capable")],
    aliases=("import",), min_args=1, max_args=2)


def import_image(argv: list[str], path: str) -> int:
    from baleine.archive.common import open_input
    from baleine.archive.tarball import import_tarball

    opts, args = parse(IMPORT, argv)
    ref = None
    if len(args) == 2:
        try:
            ref = reference.parse_tagged(args[1])
        except reference.InvalidReference as err:
            raise BaleineError(f"{err}") from None
    source = args[0]
    if "://" in source:
        raise DaemonError("importing from a URL is not supported by Baleine: download the file first")
    stream = open_input(source)
    try:
        image_id = import_tarball(open_store(), stream, ref, opts.change, opts.message or "")
    except BaleineError as err:
        raise err if isinstance(err, DaemonError) else DaemonError(str(err)) from None
    sys.stdout.write(image_id + "\n")
    return 0


LOAD = Command(
    "image load", "[OPTIONS]", "Load an image from a tar archive or STDIN",
    [Flag("input", "i", "str", help="Read from tar archive file, instead of STDIN"),
     Flag("quiet", "q", help="Suppress the load output"),
     Flag("platform", kind="list", help="Load only the given platform(s)")],
    aliases=("load",), max_args=0)


def load(argv: list[str], path: str) -> int:
    from baleine.archive.common import open_input
    from baleine.archive.load import load as load_archive

    opts, _ = parse(LOAD, argv)
    if opts.input is None and sys.stdin.isatty():
        raise BaleineError("requested load from stdin, but stdin is empty")
    stream = open_input(opts.input)
    try:
        lines = load_archive(open_store(), stream)
    except BaleineError as err:
        raise err if isinstance(err, DaemonError) else DaemonError(str(err)) from None
    if not opts.quiet:
        sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


SAVE = Command(
    "image save", "[OPTIONS] IMAGE [IMAGE...]",
    "Save one or more images to a tar archive (streamed to STDOUT by default)",
    [Flag("output", "o", "str", help="Write to a file, instead of STDOUT"),
     Flag("platform", kind="list", help="Save only the given platform(s)")],
    aliases=("save",), min_args=1)


def save(argv: list[str], path: str) -> int:
    from baleine.archive.save import save as save_archive
    from baleine.fsutil import atomic_output

    opts, args = parse(SAVE, argv)
    store = open_store()
    if opts.output is None:
        if sys.stdout.isatty():
            raise BaleineError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        try:
            save_archive(store, args, sys.stdout.buffer)
        except BaleineError as err:
            raise err if isinstance(err, DaemonError) else DaemonError(str(err)) from None
        return 0
    target = os.path.abspath(opts.output)
    try:
        with atomic_output(target) as out:
            save_archive(store, args, out)
    except OSError as err:
        raise BaleineError(f"failed to save image: open {opts.output}: {err.strerror.lower()}") from None
    except BaleineError as err:
        raise err if isinstance(err, DaemonError) else DaemonError(str(err)) from None
    return 0
