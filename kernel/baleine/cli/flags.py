"""Command-line flags parsed the way Docker's CLI (cobra + pflag) parses them.

argparse is not used: its error texts, its abbreviation matching and its handling of
`-H=false` differ from pflag, and users see those differences.
"""

from __future__ import annotations

from baleine.errors import UsageError

PROGRAM = "docker"


# Plain classes rather than dataclasses: importing dataclasses costs ~9 ms on every command.
class Flag:
    __slots__ = ("long", "short", "kind", "default", "help", "metavar", "dest")

    def __init__(self, long: str, short: str | None = None, kind: str = "bool", default: object = None,
                 help: str = "", metavar: str = ""):
        self.long, self.short, self.kind, self.default = long, short, kind, default  # kind: bool|str|list|int
        self.help, self.metavar = help, metavar
        self.dest = long.replace("-", "_")


class Command:
    """A (sub)command's usage line, description and flags."""

    def __init__(self, path: str, usage: str, description: str, flags: list[Flag] | None = None,
                 aliases: tuple[str, ...] = (), interspersed: bool = True, min_args: int = 0,
                 max_args: int | None = None):
        self.path = path  # "image ls"
        self.usage = usage  # "[OPTIONS] [REPOSITORY[:TAG]]"
        self.description = description
        self.flags = flags or []
        self.aliases = aliases
        self.interspersed = interspersed  # False: flags end at the first positional (run, exec)
        self.min_args, self.max_args = min_args, max_args

    def help_text(self) -> str:
        lines = [f"Usage:  {PROGRAM} {self.path} {self.usage}".rstrip(), "", self.description]
        if self.aliases:
            lines += ["", "Aliases:", "  " + ", ".join(f"{PROGRAM} {a}" for a in (self.path,) + self.aliases)]
        lines += ["", "Options:"]
        rows = []
        for f in self.flags:
            name = (f"-{f.short}, " if f.short else "    ") + f"--{f.long}"
            if f.kind != "bool":
                name += " " + (f.metavar or {"int": "int", "list": "list"}.get(f.kind, "string"))
            text = f.help
            if f.kind in ("str", "int") and f.default not in (None, "", 0):
                text += f' (default {f.default!r})'.replace("'", '"')
            rows.append((name, text))
        rows.append(("    --help", "Print usage"))
        width = max(len(n) for n, _ in rows) + 3
        lines += [f"  {n.ljust(width)}{t}".rstrip() for n, t in rows]
        return "\n".join(lines) + "\n"

    def usage_error(self, message: str, exit_code: int = 125) -> UsageError:
        return UsageError(f"{message}\nSee '{PROGRAM} {self.path} --help'.", exit_code)


class Options(dict):
    """Parsed flag values, readable as attributes (`opts.all`)."""

    __getattr__ = dict.__getitem__


class HelpRequested(Exception):
    """`--help` was given: the dispatcher prints the command's help."""

    def __init__(self, command: Command):
        super().__init__(command.path)
        self.command = command


_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def parse(command: Command, argv: list[str]) -> tuple[Options, list[str]]:
    """Parse argv into (options, positional arguments), raising Docker's usage errors."""
    by_long = {f.long: f for f in command.flags}
    by_short = {f.short: f for f in command.flags if f.short}
    opts = Options({f.dest: ([] if f.kind == "list" else f.default if f.default is not None
                             else (False if f.kind == "bool" else None)) for f in command.flags})
    args: list[str] = []
    i = 0

    def set_value(flag: Flag, value: str | None, shown: str) -> None:
        if flag.kind == "bool":
            if value is None or value in _TRUE:
                opts[flag.dest] = True
            elif value in _FALSE:
                opts[flag.dest] = False
            else:
                raise command.usage_error(
                    f'invalid argument "{value}" for "{shown}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')
        elif flag.kind == "int":
            try:
                opts[flag.dest] = int(value)
            except ValueError:
                raise command.usage_error(
                    f'invalid argument "{value}" for "{shown}" flag: strconv.ParseInt: parsing "{value}": invalid syntax') from None
        elif flag.kind == "list":
            opts[flag.dest].append(value)
        else:
            opts[flag.dest] = value

    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            args.extend(argv[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            if name == "help":
                raise HelpRequested(command)
            flag = by_long.get(name)
            if flag is None:
                raise command.usage_error(f"unknown flag: --{name}")
            shown = f"-{flag.short}, --{flag.long}" if flag.short else f"--{flag.long}"
            if not eq and flag.kind != "bool":
                if i >= len(argv):
                    raise command.usage_error(f"flag needs an argument: --{name}")
                value = argv[i]
                i += 1
            set_value(flag, value if eq or flag.kind != "bool" else None, shown)
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                c = arg[j]
                if c == "h" and "h" not in by_short:
                    raise HelpRequested(command)
                flag = by_short.get(c)
                if flag is None:
                    raise command.usage_error(f"unknown shorthand flag: '{c}' in {arg}")
                shown = f"-{flag.short}, --{flag.long}"
                rest = arg[j + 1:]
                if flag.kind == "bool":
                    if rest.startswith("="):
                        set_value(flag, rest[1:], shown)
                        break
                    set_value(flag, None, shown)
                    j += 1
                    continue
                if rest:
                    set_value(flag, rest[1:] if rest.startswith("=") else rest, shown)
                elif i < len(argv):
                    set_value(flag, argv[i], shown)
                    i += 1
                else:
                    raise command.usage_error(f"flag needs an argument: '{c}' in -{c}")
                break
        else:
            args.append(arg)
            if not command.interspersed:
                args.extend(argv[i:])
                break
    check_arg_count(command, args)
    return opts, args


def check_arg_count(command: Command, args: list[str]) -> None:
    lo, hi = command.min_args, command.max_args
    if hi is not None and lo == hi and len(args) != lo:
        plural = "argument" if lo == 1 else "arguments"
        _arg_error(command, f'"{PROGRAM} {command.path}" requires exactly {lo} {plural}.')
    if len(args) < lo:
        plural = "argument" if lo == 1 else "arguments"
        _arg_error(command, f'"{PROGRAM} {command.path}" requires at least {lo} {plural}.')
    if hi is not None and len(args) > hi:
        plural = "argument" if hi == 1 else "arguments"
        _arg_error(command, f'"{PROGRAM} {command.path}" accepts at most {hi} {plural}.')


def _arg_error(command: Command, message: str) -> None:
    raise UsageError(
        f"{message}\nSee '{PROGRAM} {command.path} --help'.\n\n"
        f"Usage:  {PROGRAM} {command.path} {command.usage}\n\n{command.description}", 1)
