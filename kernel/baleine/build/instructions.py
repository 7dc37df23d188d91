"""Raw nodes -> typed instructions, with BuildKit's checks and error texts.

Mirrors BuildKit `frontend/dockerfile/instructions/parse.go` and `bflag.go`:
per-instruction flags (`--from`, `--chown`, `--chmod`, `--link`, `--parents`,
`--exclude`, `--checksum`, `--keep-git-dir`, `--unpack`, `--platform`, `--mount`,
`--network`, `--security`, `--device`, HEALTHCHECK's durations), argument counts,
heredoc sources of COPY/ADD, ONBUILD triggers. Values are *not* expanded here
(see expand.expand_command).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .gofmt import go_quote, parse_duration
from .parser import DockerfileError, Heredoc, Node, chomp_heredoc, maybe_heredoc

__all__ = [
    "Command", "KeyValue", "SourceContent", "From", "Arg", "Env", "Label",
    "Maintainer", "Copy", "Add", "Run", "Cmd", "Entrypoint", "Healthcheck",
    "Expose", "User", "Volume", "StopSignal", "Shell", "Workdir", "Onbuild",
    "parse_instruction", "INSTRUCTIONS",
]

INSTRUCTIONS = ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
                "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


@dataclass(kw_only=True)
class Command:
    keyword: str                 # upper-case instruction name
    code: str                    # the source text (continuations joined), stripped
    line: int
    end_line: int
    comments: list[str] = field(default_factory=list)


@dataclass
class KeyValue:
    key: str
    value: str
    no_delim: bool = False       # legacy `ENV key value` form

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclass
class SourceContent:
    """An inline COPY/ADD source from a heredoc."""
    path: str
    data: str
    expand: bool


@dataclass(kw_only=True)
class From(Command):
    base: str
    name: str = ""               # lower-cased stage name
    platform: str = ""


@dataclass(kw_only=True)
class Arg(Command):
    args: list[tuple[str, str | None]]


@dataclass(kw_only=True)
class Env(Command):
    pairs: list[KeyValue]


@dataclass(kw_only=True)
class Label(Command):
    pairs: list[KeyValue]


@dataclass(kw_only=True)
class Maintainer(Command):
    maintainer: str


@dataclass(kw_only=True)
class Copy(Command):
    sources: list[str]
    dest: str
    contents: list[SourceContent] = field(default_factory=list)
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Add(Command):
    sources: list[str]
    dest: str
    contents: list[SourceContent] = field(default_factory=list)
    chown: str = ""
    chmod: str = ""
    link: bool = False
    checksum: str = ""
    keep_git_dir: bool | None = None
    unpack: bool | None = None
    excludes: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Run(Command):
    cmd_line: list[str]          # exec form: argv; shell form: [text]
    prepend_shell: bool          # shell form
    files: list[Heredoc] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    network: str = "default"
    security: str = "sandbox"
    devices: list[str] = field(default_factory=list)
    flags_used: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Cmd(Command):
    cmd_line: list[str]
    prepend_shell: bool


@dataclass(kw_only=True)
class Entrypoint(Command):
    cmd_line: list[str] | None   # None for `ENTRYPOINT []`
    prepend_shell: bool


@dataclass(kw_only=True)
class Healthcheck(Command):
    test: list[str]              # ["NONE"], ["CMD", ...] or ["CMD-SHELL", text]
    interval: int = 0            # nanoseconds
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(kw_only=True)
class Expose(Command):
    ports: list[str]             # as written, sorted like BuildKit does


@dataclass(kw_only=True)
class User(Command):
    user: str


@dataclass(kw_only=True)
class Volume(Command):
    volumes: list[str]


@dataclass(kw_only=True)
class StopSignal(Command):
    signal: str


@dataclass(kw_only=True)
class Shell(Command):
    shell: list[str]


@dataclass(kw_only=True)
class Workdir(Command):
    path: str


@dataclass(kw_only=True)
class Onbuild(Command):
    expression: str              # the trigger text stored in config.OnBuild


# --- flags ------------------------------------------------------------------

class _Flags:
    """BuildKit's BFlags: typed `--name=value` flags of one instruction."""

    def __init__(self, raw: list[str]) -> None:
        self.raw = raw
        self.kinds: dict[str, str] = {}
        self.values: dict[str, object] = {}
        self.used: list[str] = []

    def add(self, name: str, kind: str, default: object = None) -> None:
        self.kinds[name] = kind
        self.values[name] = [] if kind == "strings" else default

    def parse(self) -> None:
        for arg in self.raw:
            if arg == "--":
                return
            if not arg.startswith("--"):
                raise ValueError(f"arg should start with -- : {arg}")
            flag_name, has_value, value = arg.partition("=")
            name = flag_name[2:]
            kind = self.kinds.get(name)
            if kind is None:
                raise ValueError(suggest(f"unknown flag: {flag_name}", name,
                                         list(self.kinds), case_sensitive=True))
            if name in self.used and kind != "strings":
                raise ValueError(f"duplicate flag specified: {flag_name}")
            self.used.append(name)
            if kind == "bool":
                if has_value and value == "":
                    raise ValueError(f"missing a value on flag: {flag_name}")
                if value.lower() in ("true", ""):
                    self.values[name] = True
                elif value.lower() == "false":
                    self.values[name] = False
                else:
                    raise ValueError(f"expecting boolean value for flag {flag_name}, not: {value}")
            elif not has_value:
                raise ValueError(f"missing a value on flag: {flag_name}")
            elif kind == "strings":
                self.values[name].append(value)
            else:
                self.values[name] = value


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def suggest(message: str, value: str, options, case_sensitive: bool) -> str:
    """Append BuildKit's ` (did you mean x?)` when an option is within distance 2."""
    probe = value if case_sensitive else value.lower()
    best, best_dist = "", 3
    for option in sorted(options):
        candidate = option if case_sensitive else option.lower()
        if candidate == probe:
            return message
        dist = _levenshtein(probe, candidate)
        if dist < best_dist:
            best, best_dist = candidate, dist
            if not case_sensitive:
                if value == value.lower():
                    best = candidate.lower()
                elif value == value.upper():
                    best = candidate.upper()
    return f"{message} (did you mean {best}?)" if best else message


# --- instruction parsers ---------------------------------------------------

def _base(node: Node) -> dict:
    return dict(keyword=node.keyword.upper(), code=node.original.strip(),
                line=node.start_line, end_line=node.end_line, comments=node.comments)


def _json_args(node: Node) -> list[str]:
    # shell form arrives as one string; exec form as the array
    if not node.args:
        return []
    return list(node.args) if node.json else [" ".join(node.args)]


def _kv_pairs(args: list[str], name: str) -> list[KeyValue]:
    if not args:
        raise ValueError(f"{name} requires at least one argument")
    if len(args) % 3:
        raise ValueError(f"Bad input to {name}, too many arguments")
    pairs = []
    for i in range(0, len(args), 3):
        if not args[i]:
            raise ValueError(f"{name} names can not be blank")
        pairs.append(KeyValue(args[i], args[i + 1], no_delim=args[i + 2] == ""))
    return pairs


def _parse_env(node, flags):
    flags.parse()
    return Env(pairs=_kv_pairs(node.args, "ENV"), **_base(node))


def _parse_label(node, flags):
    flags.parse()
    return Label(pairs=_kv_pairs(node.args, "LABEL"), **_base(node))


def _parse_maintainer(node, flags):
    if len(node.args) != 1:
        raise ValueError("MAINTAINER requires exactly one argument")
    flags.parse()
    return Maintainer(maintainer=node.args[0], **_base(node))


def _sources_and_dest(node: Node, name: str) -> dict:
    *sources, dest = node.args
    if maybe_heredoc(dest) is not None:
        raise ValueError(f"{name} cannot accept a heredoc as a destination")
    bodies = {heredoc.name: heredoc for heredoc in node.heredocs}
    paths, contents = [], []
    for src in sources:
        heredoc = maybe_heredoc(src)
        if heredoc is None:
            paths.append(src)
            continue
        data = bodies[heredoc.name].content if heredoc.name in bodies else ""
        if heredoc.chomp:
            data = chomp_heredoc(data)
        contents.append(SourceContent(heredoc.name, data, heredoc.expand))
    return dict(sources=paths, dest=dest, contents=contents)


def _no_destination(name: str) -> ValueError:
    return ValueError(f"{name} requires at least two arguments, but only one was provided. "
                      "Destination could not be determined")


def _parse_add(node, flags):
    if len(node.args) < 2:
        raise _no_destination("ADD")
    flags.add("chown", "string", "")
    flags.add("chmod", "string", "")
    flags.add("link", "bool", False)
    flags.add("keep-git-dir", "bool", False)
    flags.add("checksum", "string", "")
    flags.add("unpack", "bool", False)
    flags.add("exclude", "strings")
    flags.parse()
    v = flags.values
    return Add(chown=v["chown"], chmod=v["chmod"], link=v["link"],
               checksum=v["checksum"], excludes=v["exclude"],
               keep_git_dir=v["keep-git-dir"] if "keep-git-dir" in flags.used else None,
               unpack=v["unpack"] if "unpack" in flags.used else None,
               **_sources_and_dest(node, "ADD"), **_base(node))


def _parse_copy(node, flags):
    if len(node.args) < 2:
        raise _no_destination("COPY")
    flags.add("chown", "string", "")
    flags.add("from", "string", "")
    flags.add("chmod", "string", "")
    flags.add("link", "bool", False)
    flags.add("exclude", "strings")
    flags.add("parents", "bool", False)
    flags.parse()
    v = flags.values
    return Copy(from_=v["from"], chown=v["chown"], chmod=v["chmod"], link=v["link"],
                parents=v["parents"], excludes=v["exclude"],
                **_sources_and_dest(node, "COPY"), **_base(node))


_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")


def _parse_from(node, flags):
    args = node.args
    name = ""
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise ValueError(f"invalid name for build stage: {go_quote(args[2])}, "
                             "name can't start with a number or contain symbols")
    elif len(args) != 1:
        raise ValueError("FROM requires either one or three arguments")
    flags.add("platform", "string", "")
    flags.parse()
    return From(base=args[0], name=name, platform=flags.values["platform"], **_base(node))


def _parse_onbuild(node, flags):
    if not node.args:
        raise ValueError("ONBUILD requires at least one argument")
    flags.parse()
    trigger = node.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise ValueError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise ValueError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = re.sub(r"(?i)^\s*ONBUILD\s*", "", node.original, count=1)
    for heredoc in node.heredocs:
        expression += "\n" + heredoc.content + heredoc.name
    return Onbuild(expression=expression, **_base(node))


def _parse_workdir(node, flags):
    if len(node.args) != 1:
        raise ValueError("WORKDIR requires exactly one argument")
    flags.parse()
    return Workdir(path=node.args[0], **_base(node))


_NETWORKS = ("default", "none", "host")
_SECURITY = ("sandbox", "insecure")


def _parse_run(node, flags):
    flags.add("mount", "strings")
    flags.add("network", "string", "default")
    flags.add("security", "string", "sandbox")
    flags.add("device", "strings")
    flags.parse()
    v = flags.values
    if v["network"] not in _NETWORKS:
        raise ValueError(f"invalid network mode {go_quote(v['network'])}")
    if v["security"] not in _SECURITY:
        raise ValueError(f"security {go_quote(v['security'])} is not valid")
    return Run(cmd_line=_json_args(node), prepend_shell=not node.json,
               files=list(node.heredocs), mounts=v["mount"], network=v["network"],
               security=v["security"], devices=v["device"], flags_used=list(flags.used),
               **_base(node))


def _parse_cmd(node, flags):
    flags.parse()
    return Cmd(cmd_line=_json_args(node), prepend_shell=not node.json, **_base(node))


def _parse_entrypoint(node, flags):
    flags.parse()
    return Entrypoint(cmd_line=_json_args(node) or None, prepend_shell=not node.json,
                      **_base(node))


def _interval(flags: _Flags, name: str) -> int:
    text = flags.values[name]
    if not text:
        return 0
    value = parse_duration(text)
    if value == 0:
        return 0
    if value < 1_000_000:
        raise ValueError(f"Interval {go_quote(name)} cannot be less than 1ms")
    return value


def _parse_healthcheck(node, flags):
    if not node.args:
        raise ValueError("HEALTHCHECK requires at least one argument")
    kind = node.args[0].upper()
    args = node.args[1:]
    if kind == "NONE":
        if args:
            raise ValueError("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(test=["NONE"], **_base(node))
    for name in ("interval", "timeout", "start-period", "start-interval", "retries"):
        flags.add(name, "string", "")
    flags.parse()
    if kind != "CMD":
        raise ValueError(f"Unknown type {go_quote(kind)} in HEALTHCHECK (try CMD)")
    command = list(args) if node.json else ([" ".join(args)] if args else [])
    if not command:
        raise ValueError("Missing command after HEALTHCHECK CMD")
    test = (["CMD"] if node.json else ["CMD-SHELL"]) + command
    durations = {name: _interval(flags, name)
                 for name in ("interval", "timeout", "start-period", "start-interval")}
    retries = 0
    if flags.values["retries"]:
        retries = _go_parse_int32(flags.values["retries"])
        if retries < 0:
            raise ValueError(f"--retries cannot be negative ({retries})")
    return Healthcheck(test=test, interval=durations["interval"], timeout=durations["timeout"],
                       start_period=durations["start-period"],
                       start_interval=durations["start-interval"], retries=retries,
                       **_base(node))


def _go_parse_int32(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f'strconv.ParseInt: parsing {go_quote(text)}: invalid syntax')
    value = int(text)
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f'strconv.ParseInt: parsing {go_quote(text)}: value out of range')
    return value


def _parse_expose(node, flags):
    if not node.args:
        raise ValueError("EXPOSE requires at least one argument")
    flags.parse()
    return Expose(ports=sorted(node.args), **_base(node))


def _parse_user(node, flags):
    if len(node.args) != 1:
        raise ValueError("USER requires exactly one argument")
    flags.parse()
    return User(user=node.args[0], **_base(node))


def _parse_volume(node, flags):
    if not node.args:
        raise ValueError("VOLUME requires at least one argument")
    flags.parse()
    volumes = [v.strip() for v in node.args]
    if any(not v for v in volumes):
        raise ValueError("VOLUME specified can not be an empty string")
    return Volume(volumes=volumes, **_base(node))


def _parse_stopsignal(node, flags):
    if len(node.args) != 1:
        raise ValueError("STOPSIGNAL requires exactly one argument")
    return StopSignal(signal=node.args[0], **_base(node))


def _parse_arg(node, flags):
    if not node.args:
        raise ValueError("ARG requires at least one argument")
    pairs: list[tuple[str, str | None]] = []
    for arg in node.args:
        if "=" in arg:
            key, value = arg.split("=", 1)
            if not key:
                raise ValueError("ARG names can not be blank")
            pairs.append((key, value))
        else:
            pairs.append((arg, None))
    return Arg(args=pairs, **_base(node))


def _parse_shell(node, flags):
    flags.parse()
    shell = _json_args(node)
    if not shell:
        raise ValueError("SHELL requires at least one argument")
    if not node.json:
        raise ValueError("SHELL requires the arguments to be in JSON form")
    return Shell(shell=shell, **_base(node))


_PARSERS = {
    "env": _parse_env, "maintainer": _parse_maintainer, "label": _parse_label,
    "add": _parse_add, "copy": _parse_copy, "from": _parse_from,
    "onbuild": _parse_onbuild, "workdir": _parse_workdir, "run": _parse_run,
    "cmd": _parse_cmd, "healthcheck": _parse_healthcheck,
    "entrypoint": _parse_entrypoint, "expose": _parse_expose, "user": _parse_user,
    "volume": _parse_volume, "stopsignal": _parse_stopsignal, "arg": _parse_arg,
    "shell": _parse_shell,
}


def parse_instruction(node: Node, prefix: bool = True) -> Command:
    """Type one node; errors read `dockerfile parse error on line N: ...`.

    prefix=False gives the bare message (what `docker commit --change` reports).
    """
    parse = _PARSERS.get(node.keyword.lower())
    try:
        if parse is None:
            raise ValueError(suggest(f"unknown instruction: {node.keyword}", node.keyword,
                                     INSTRUCTIONS, case_sensitive=False))
        return parse(node, _Flags(node.flags))
    except ValueError as err:
        message = str(err)
        if prefix:
            message = f"dockerfile parse error on line {node.start_line}: {message}"
        raise DockerfileError(message, node.start_line, node.end_line) from None
