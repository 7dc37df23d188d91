"""Commands that reach into a container: exec, cp, diff, export, top, attach."""

from __future__ import annotations

import os
import sys

from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError, DaemonError
from baleine.store import open_store

EXEC = Command("container exec", "[OPTIONS] CONTAINER COMMAND [ARG...]",
               "Execute a command in a running container",
               [Flag("detach", "d", help="Detached mode: run command in the background"),
                Flag("env", "e", "list", help="Set environment variables"),
                Flag("env-file", kind="list", help="Read in a file of environment variables"),
                Flag("interactive", "i", help="Keep STDIN open even if not attached"),
                Flag("privileged", help="Give extended privileges to the command"),
                Flag("tty", "t", help="Allocate a pseudo-TTY"),
                Flag("user", "u", "str", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
                Flag("workdir", "w", "str", help="Working directory inside the container")],
               aliases=("exec",), interspersed=False, min_args=2)


def exec_cmd(argv: list[str], path: str) -> int:
    from baleine.cli.containers import _env
    from baleine.engine.containers import lookup
    from baleine.engine.exec import ExecFailed, exec_in

    opts, args = parse(EXEC, argv)
    container = lookup(open_store().root, args[0])
    try:
        return exec_in(container, args[1:], env=_env(opts), workdir=opts.workdir, user=opts.user,
                       tty=opts.tty, interactive=opts.interactive, detach=opts.detach)
    except ExecFailed as err:
        sys.stdout.flush()
        message = err.message.replace("error during container init: ", "")
        sys.stderr.write(f"OCI runtime exec failed: exec failed: {message}: unknown\n")
        return err.exit_code


# -- cp ------------------------------------------------------------------------------------

CP = Command("container cp", "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdocker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
             "Copy files/folders between a container and the local filesystem",
             [Flag("archive", "a", help="Archive mode (copy all uid/gid information)"),
              Flag("follow-link", "L", help="Always follow symbol link in SRC_PATH"),
              Flag("quiet", "q", help="Suppress progress output during copy. Progress output is "
                   "automatically suppressed if no terminal is attached to STDERR")],
             aliases=("cp",), min_args=2, max_args=2)


def _split(arg: str) -> tuple[str | None, str]:
    """("container", "path") for CONTAINER:PATH, (None, path) for a local path."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    name, _, path = arg.partition(":")
    return name, path


def cp(argv: list[str], path: str) -> int:
    from baleine.engine import copy
    from baleine.engine.containers import lookup

    opts, args = parse(CP, argv)
    (src_c, src), (dst_c, dst) = _split(args[0]), _split(args[1])
    if src_c is not None and dst_c is not None:
        raise BaleineError("copying between containers is not supported")
    if src_c is None and dst_c is None:
        raise BaleineError("must specify at least one container source")
    store = open_store()
    root = store.root
    try:
        if src_c is not None:
            container = lookup(root, src_c)
            src = src or "/"
            if dst == "-":
                copy.read_archive(store, container, src_c, src, sys.stdout.buffer, follow=opts.follow_link)
                sys.stdout.flush()
                return 0
            size = copy.copy_to_host(store, container, src_c, src, dst, follow=opts.follow_link,
                                     archive=opts.archive)
        else:
            container = lookup(root, dst_c)
            dst = dst or "/"
            if src == "-":
                size = copy.copy_into(store, container, dst_c, dst, sys.stdin.buffer, archive=opts.archive)
            else:
                import tempfile
                with tempfile.TemporaryFile() as spool:
                    is_dir = copy.host_tar(src, spool, follow=opts.follow_link)
                    spool.seek(0)
                    size = copy.copy_into(store, container, dst_c, dst, spool, archive=opts.archive,
                                          src_name=os.path.basename(src.rstrip("/")), src_is_dir=is_dir,
                                          contents_only=src.endswith("/."))
    except copy.CopyError as err:
        raise BaleineError(str(err)) from None
    if not opts.quiet and sys.stderr.isatty():
        from baleine.format import human_size
        where = args[1]
        sys.stderr.write(f"Successfully copied {human_size(size)} to {where}\n")
    return 0


# -- diff / export / top -------------------------------------------------------------------

DIFF = Command("container diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem",
               [], aliases=("diff",), min_args=1, max_args=1)


def diff(argv: list[str], path: str) -> int:
    from baleine.engine.changes import diff as container_diff
    from baleine.engine.containers import frozen, lookup

    _, args = parse(DIFF, argv)
    container = lookup(open_store().root, args[0])
    with frozen(container):
        changes = container_diff(container)
    sys.stdout.write("".join(f"{kind} {p}\n" for kind, p in changes))
    return 0


EXPORT = Command("container export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
                 [Flag("output", "o", "str", help="Write to a file, instead of STDOUT")],
                 aliases=("export",), min_args=1, max_args=1)


def export(argv: list[str], path: str) -> int:
    from baleine.engine.changes import export as export_container
    from baleine.engine.containers import frozen, lookup

    opts, args = parse(EXPORT, argv)
    store = open_store()
    container = lookup(store.root, args[0])
    if not opts.output and sys.stdout.isatty():
        raise BaleineError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if opts.output:
        tmp = opts.output + ".tmp"
        try:
            with open(tmp, "wb") as out, frozen(container):
                export_container(store, container, out)
            os.replace(tmp, opts.output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        with frozen(container):
            export_container(store, container, sys.stdout.buffer)
        sys.stdout.flush()
    return 0


TOP = Command("container top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container",
              [], aliases=("top",), interspersed=False, min_args=1)


def top(argv: list[str], path: str) -> int:
    from baleine.engine.containers import lookup
    from baleine.engine.exec import top as container_top

    _, args = parse(TOP, argv)
    titles, rows = container_top(lookup(open_store().root, args[0]), args[1:])
    # The docker CLI's tabwriter here: minimum width 20, padding 3.
    widths = [max([len(titles[i])] + [len(r[i]) for r in rows if len(r) > i]) + 3 for i in range(len(titles))]
    widths = [max(w, 20) for w in widths]

    def line(cells):
        return "".join(c.ljust(widths[i]) for i, c in enumerate(cells[:-1])) + cells[-1] + "\n"
    sys.stdout.write(line(titles) + "".join(line(r) for r in rows))
    return 0


ATTACH = Command("container attach", "[OPTIONS] CONTAINER",
                 "Attach local standard input, output, and error streams to a running container",
                 [Flag("detach-keys", kind="str", help="Override the key sequence for detaching a container"),
                  Flag("no-stdin", help="Do not attach STDIN"),
                  Flag("sig-proxy", default=True, help="Proxy all received signals to the process")],
                 aliases=("attach",), min_args=1, max_args=1)


def attach(argv: list[str], path: str) -> int:
    """Without a daemon there is no stream to join: follow the container's log from now on
    (stdin stays the container's own), forward Ctrl-C/SIGTERM, and exit with its status."""
    import signal

    from baleine.engine.containers import kill, lookup

    opts, args = parse(ATTACH, argv)
    container = lookup(open_store().root, args[0])
    if not container.running:
        raise DaemonError("You cannot attach to a stopped container, start it first")
    if opts.sig_proxy:
        def forward(signum, frame):
            try:
                kill(container, signum)
            except BaleineError:
                pass
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
    import json

    from baleine.engine.logs import follow

    def emit(raw: bytes) -> None:
        entry = json.loads(raw)
        stream = sys.stdout if entry["stream"] == "stdout" else sys.stderr
        stream.write(entry["log"])
        stream.flush()

    try:
        position = os.path.getsize(container.log_path)
    except OSError:
        position = 0
    follow(container, position, emit)
    return container.state["ExitCode"]
