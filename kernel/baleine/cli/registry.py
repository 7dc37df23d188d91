"""`pull`, `push`, `login`, `logout`."""

from __future__ import annotations

import sys

from baleine import reference
from baleine.cli.flags import Command, Flag, parse
from baleine.errors import BaleineError
from baleine.store import open_store

PULL = Command(
    "image pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry",
    [Flag("all-tags", "a", help="Download all tagged images in the repository"),
     Flag("disable-content-trust", help="Skip image verification (default true)"),
     Flag("platform", kind="str", help="Set platform if server is multi-platform capable"),
     Flag("quiet", "q", help="Suppress verbose output")],
    aliases=("pull",), min_args=1, max_args=1)

PUSH = Command(
    "image push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry",
    [Flag("all-tags", "a", help="Push all tags of an image to the repository"),
     Flag("disable-content-trust", help="Skip image signing (default true)"),
     Flag("quiet", "q", help="Suppress verbose output")],
    aliases=("push",), min_args=1, max_args=1)

LOGIN = Command(
    "login", "[OPTIONS] [SERVER]",
    "Log in to a registry.\nIf no server is specified, the default is defined by the daemon.",
    [Flag("password", "p", "str", help="Password"),
     Flag("password-stdin", help="Take the password from stdin"),
     Flag("username", "u", "str", help="Username")],
    max_args=1)

LOGOUT = Command(
    "logout", "[SERVER]",
    "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
    [], max_args=1)


def _parse_ref(text: str) -> reference.Reference:
    try:
        return reference.parse(text)
    except reference.InvalidReference as err:
        raise BaleineError(str(err)) from None


def pull(argv: list[str], path: str) -> int:
    from baleine.registry.progress import Progress
    from baleine.registry.pull import pull as pull_image

    opts, args = parse(PULL, argv)
    ref = _parse_ref(args[0])
    progress = Progress(sys.stdout, quiet=opts.quiet)
    pulled = pull_image(open_store(), ref, progress, platform=opts.platform, all_tags=opts.all_tags)
    sys.stdout.write(f"{pulled}\n")
    return 0


def push(argv: list[str], path: str) -> int:
    from baleine.registry.progress import Progress
    from baleine.registry.push import push as push_image

    opts, args = parse(PUSH, argv)
    ref = _parse_ref(args[0])
    rows = push_image(open_store(), str(ref), Progress(sys.stdout, quiet=opts.quiet), all_tags=opts.all_tags)
    if opts.quiet:
        for tag, _, _ in rows:
            sys.stdout.write(f"{ref.with_tag(tag)}\n")
    return 0


def login(argv: list[str], path: str) -> int:
    from baleine.registry import credentials
    from baleine.registry.login import login as do_login
    from baleine.registry.login import registry_domain

    opts, args = parse(LOGIN, argv)
    server = args[0] if args else None
    password = opts.password
    if password is not None and opts.password_stdin:
        raise BaleineError("--password and --password-stdin are mutually exclusive")
    if opts.password_stdin:
        if not opts.username:
            raise BaleineError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\n").rstrip("\r")
    elif password is not None:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    username = opts.username
    if username is None and password is None:
        stored = credentials.get(registry_domain(server))
        if stored:
            sys.stdout.write("Authenticating with existing credentials...\n")
            username, password = stored
    if username is None or password is None:
        username, password = _prompt(username)
    path_written = do_login(server, username, password)
    sys.stderr.write(f"WARNING! Your credentials are stored unencrypted in '{path_written}'.\n"
                     "Configure a credential helper to remove this warning. See\n"
                     "https://docs.docker.com/go/credential-store/\n\n")
    sys.stdout.write("Login Succeeded\n")
    return 0


def _prompt(username: str | None) -> tuple[str, str]:
    if not sys.stdin.isatty():
        raise BaleineError("Error: Cannot perform an interactive login from a non TTY device")
    import getpass
    if username is None:
        sys.stdout.write("Username: ")
        sys.stdout.flush()
        username = sys.stdin.readline().strip()
        if not username:
            raise BaleineError("Error: Non-null Username Required")
    password = getpass.getpass("Password: ")
    if not password:
        raise BaleineError("Error: Password Required")
    return username, password


def logout(argv: list[str], path: str) -> int:
    from baleine.registry.login import logout as do_logout

    _, args = parse(LOGOUT, argv)
    key, removed = do_logout(args[0] if args else None)
    if not removed:
        sys.stdout.write(f"Not logged in to {key}\n")
        return 0
    sys.stdout.write(f"Removing login credentials for {key}\n")
    return 0
