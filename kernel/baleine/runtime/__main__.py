"""Command line, shaped like runc/crun so an engine can swap runtimes on the same bundle:

    python -m baleine.runtime [--root DIR] run [-b BUNDLE] [-d] ID
    python -m baleine.runtime [--root DIR] exec [-t] [--cwd DIR] [-e K=V]... [-u USER] ID CMD...
    python -m baleine.runtime [--root DIR] kill ID [SIGNAL]
    python -m baleine.runtime [--root DIR] state ID
    python -m baleine.runtime spec [-b BUNDLE] [--rootless] [--fakeroot] [-t] [--] CMD...
    python -m baleine.runtime probe

State lives in ROOT/ID (default /run/baleine-runtime as root, else
$XDG_RUNTIME_DIR/baleine-runtime).  Argument parsing is by hand: argparse costs
start-up time, and `run` is measured against crun.
"""

import os
import sys

USAGE = __doc__.split("\n\n")[1]


def _default_root() -> str:
    if os.geteuid() == 0:
        return "/run/baleine-runtime"
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base:
        # A predictable name in /tmp: make sure it is ours and private, or another user
        # could plant state files that make `kill` signal the wrong process.
        base = f"/tmp/baleine-runtime-{os.geteuid()}"
        try:
            os.mkdir(base, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(base)
        if not os.path.isdir(base) or os.path.islink(base) or st.st_uid != os.geteuid() \
                or st.st_mode & 0o077:
            _fail(f"{base} is not a private directory of ours: use --root")
    return os.path.join(base, "baleine-runtime")


def _fail(message: str, code: int = 125):
    sys.stderr.write(f"baleine-runtime: {message}\n")
    sys.exit(code)


def main(argv: list[str]) -> int:
    root = _default_root()
    while argv and argv[0].startswith("--root"):
        if "=" in argv[0]:
            root = argv[0].split("=", 1)[1]
            argv = argv[1:]
        else:
            root, argv = argv[1], argv[2:]
    if not argv:
        _fail("usage:\n" + USAGE, 2)
    command, args = argv[0], argv[1:]
    opts: dict = {"env": []}
    positional: list[str] = []
    takes_value = {"-b": "bundle", "--bundle": "bundle", "--cwd": "cwd", "-u": "user",
                   "--user": "user", "-e": "env", "--env": "env", "--pid-file": "pid_file"}
    flags = {"-d": "detach", "--detach": "detach", "-t": "tty", "--tty": "tty",
             "--rootless": "rootless", "--fakeroot": "fakeroot", "--init": "init"}
    i = 0
    while i < len(args):
        a = args[i]
        if positional and command == "exec":  # after the ID, everything is the command
            positional.extend(args[i:])
            break
        if a == "--":
            positional.extend(args[i + 1:])
            break
        name, eq, value = a.partition("=")
        if name in takes_value:
            if not eq:
                i += 1
                if i >= len(args):
                    _fail(f"option {a} needs a value", 2)
                value = args[i]
            key = takes_value[name]
            if key == "env":
                opts["env"].append(value)
            else:
                opts[key] = value
        elif a in flags:
            opts[flags[a]] = True
        elif a.startswith("-") and len(a) > 1 and not positional:
            _fail(f"unknown option {a}", 2)
        else:
            positional.append(a)
        i += 1

    import baleine.runtime as rt
    try:
        if command == "run":
            if not positional:
                _fail("run needs a container ID", 2)
            bundle = opts.get("bundle", ".")
            code = rt.run(bundle, positional[0], state_dir=os.path.join(root, positional[0]),
                          detach=bool(opts.get("detach")))
            if opts.get("pid_file"):
                st = rt.state(os.path.join(root, positional[0]))
                with open(opts["pid_file"], "w") as f:
                    f.write(str(st.get("pid")))
            return code
        if command == "exec":
            if len(positional) < 2:
                _fail("exec needs a container ID and a command", 2)
            return rt.exec_(os.path.join(root, positional[0]), positional[1:], env=opts["env"],
                            cwd=opts.get("cwd"), user=opts.get("user"), terminal=bool(opts.get("tty")))
        if command == "kill":
            if not positional:
                _fail("kill needs a container ID", 2)
            rt.kill(os.path.join(root, positional[0]), positional[1] if len(positional) > 1 else "TERM")
            return 0
        if command == "state":
            import json
            if not positional:
                _fail("state needs a container ID", 2)
            print(json.dumps(rt.state(os.path.join(root, positional[0])), indent=2))
            return 0
        if command == "delete":
            import shutil
            st = rt.state(os.path.join(root, positional[0]))
            if st.get("status") == "running":
                _fail(f"container {positional[0]} is running", 125)
            shutil.rmtree(os.path.join(root, positional[0]), ignore_errors=True)
            return 0
        if command == "spec":
            annotations = {}
            if opts.get("fakeroot"):
                annotations["org.baleine.fakeroot"] = "1"
            if opts.get("init"):
                annotations["org.baleine.init"] = "1"
            config = rt.default_spec(positional or ["sh"], rootless=bool(opts.get("rootless")) or None,
                                     terminal=bool(opts.get("tty")), annotations=annotations)
            rt.write_spec(opts.get("bundle", "."), config)
            return 0
        if command == "probe":
            import json
            from baleine.runtime.probe import probe
            print(json.dumps(probe(), indent=2))
            return 0
    except rt.RuntimeStartError as exc:
        _fail(exc.message, exc.exit_code)
    _fail(f"unknown command {command!r}\nusage:\n{USAGE}", 2)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
