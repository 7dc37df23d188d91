"""Metadata instructions applied to an image config, with their history text.

`apply(image_config, command, state)` changes the image config dict (its
`config` object, and `author` for MAINTAINER) the way BuildKit's dispatcher does
and returns the history step BuildKit records (reference docker-cli.md §4.1).
`classic=True` gives the classic builder's behaviour, used by `docker commit
--change` and `docker import --change` (`parse_changes` + `apply_changes`).

Facts checked in BuildKit `dockerfile2llb/convert.go`, `convert_expose.go` and
moby `daemon/builder/dockerfile` (dispatchers.go, builder.go BuildFromConfig):
* CMD sets `ArgsEscaped: true` (BuildKit only; the classic builder sets false);
  ENTRYPOINT leaves it alone and clears the inherited Cmd unless a CMD was
  already dispatched in the same stage (`StageState.cmd_set`).
* Shell forms of CMD/ENTRYPOINT/RUN get the current SHELL (default
  `/bin/sh -c`) prepended; HEALTHCHECK's shell form is stored as CMD-SHELL.
* EXPOSE ports are sorted as strings at parse time, then ranges expanded:
  history `EXPOSE [443/udp 80/tcp]` (frontend >= 1.19).
* WORKDIR: relative paths are joined to the current one (and cleaned);
  BuildKit keeps an absolute path as written, the classic builder cleans it.
  A WORKDIR other than `/` makes a (mkdir) layer without the ` # buildkit` suffix.
* ONBUILD adds no history entry.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from . import instructions as ins
from .expand import env_from_list, expand_command
from .gofmt import format_duration, go_q_list, go_v_list
from .parser import DockerfileError, chomp_heredoc, maybe_heredoc, parse_nodes

__all__ = [
    "StageState", "HistoryStep", "DEFAULT_SHELL", "COMMIT_CHANGE_COMMANDS",
    "apply", "classic_created_by", "run_argv", "run_created_by",
    "copy_created_by", "normalize_workdir", "parse_ports", "parse_change",
    "parse_changes", "apply_changes", "healthcheck_text",
]

DEFAULT_SHELL = ["/bin/sh", "-c"]
HISTORY_COMMENT = "buildkit.dockerfile.v0"
# moby daemon/builder/dockerfile/builder.go validCommitCommands
COMMIT_CHANGE_COMMANDS = ("cmd", "entrypoint", "healthcheck", "env", "expose", "label",
                          "onbuild", "stopsignal", "user", "volume", "workdir")


@dataclass
class StageState:
    """What the builder carries from one instruction to the next in a stage."""
    cmd_set: bool = False
    build_args: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class HistoryStep:
    created_by: str
    empty_layer: bool = True
    comment: str = HISTORY_COMMENT


def _config(image_config: dict) -> dict:
    return image_config.setdefault("config", {})


def _shell(config: dict) -> list[str]:
    return list(config.get("Shell") or DEFAULT_SHELL)


def _set_or_drop(config: dict, key: str, value) -> None:
    # Go's omitempty: an empty list or map is not written
    if value:
        config[key] = value
    else:
        config.pop(key, None)


def add_env(env: list[str], key: str, value: str) -> list[str]:
    """Replace KEY=... in place, or append."""
    out = list(env)
    for i, item in enumerate(out):
        if item.partition("=")[0] == key:
            out[i] = f"{key}={value}"
            return out
    out.append(f"{key}={value}")
    return out


def normalize_workdir(current: str, path: str, clean: bool = False) -> str:
    """The new WorkingDir; clean=True also cleans absolute paths (classic builder)."""
    parent = current or "/"
    if not parent.startswith("/"):
        parent = posixpath.normpath("/" + parent)
    if not path:
        path = parent
    if not path.startswith("/"):
        path = _clean(parent + "/" + path)
    elif clean:
        path = _clean(path)
    return path


def _clean(path: str) -> str:
    # Go path.Clean: like normpath, but a leading "//" collapses too
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


# --- EXPOSE ---------------------------------------------------------------------

def _port_number(text: str) -> int:
    if not text:
        raise ValueError("value is empty")
    if not text.lstrip("+-").isdigit() or not text.isascii():
        raise ValueError("invalid syntax")
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError("value out of range (0\u201365535)")
    return port


def _port_range(text: str) -> tuple[int, int]:
    if not text:
        raise ValueError("empty string specified for ports")
    start, sep, end = text.partition("-")
    first = _port_number(start)
    if not sep or start == end:
        return first, first
    last = _port_number(end)
    if last < first:
        raise ValueError("invalid port range: " + text)
    return first, last


def parse_ports(ports: list[str]) -> list[str]:
    """EXPOSE words to `N/proto` strings, ranges expanded, protocol lower-cased."""
    out: list[str] = []
    for raw in ports:
        parts = raw.split(":")
        container = parts[-1]
        host = parts[-2] if len(parts) >= 2 else ""
        port, _, proto = container.partition("/")
        if not port:
            raise ValueError(f"invalid port: {_q(raw)}: no port specified")
        if proto.lower() not in ("", "tcp", "udp", "sctp"):
            raise ValueError(f"invalid port: {_q(raw)}: invalid proto: {proto}")
        proto = proto.lower() or "tcp"
        try:
            start, end = _port_range(port)
        except ValueError:
            raise ValueError("invalid containerPort: " + port) from None
        if host:
            try:
                host_start, host_end = _port_range(host)
            except ValueError:
                raise ValueError("invalid hostPort: " + host) from None
            if end - start != host_end - host_start and end != start:
                raise ValueError(f"invalid ranges specified for container and host Ports: "
                                 f"{port} and {host}")
        out += [f"{n}/{proto}" for n in range(start, end + 1)]
    return out


def _q(text: str) -> str:
    from .gofmt import go_quote
    return go_quote(text)


# --- HEALTHCHECK / STOPSIGNAL -------------------------------------------------------

def _health_json(hc: ins.Healthcheck) -> dict:
    out: dict = {"Test": list(hc.test)}
    for key, value in (("Interval", hc.interval), ("Timeout", hc.timeout),
                       ("StartPeriod", hc.start_period), ("StartInterval", hc.start_interval),
                       ("Retries", hc.retries)):
        if value:
            out[key] = value
    return out


def healthcheck_text(hc: ins.Healthcheck) -> str:
    """Go `%+v` of the health config: `{Test:[CMD-SHELL x] Interval:30s ... Retries:0}`."""
    return (f"{{Test:{go_v_list(hc.test)} Interval:{format_duration(hc.interval)} "
            f"Timeout:{format_duration(hc.timeout)} "
            f"StartPeriod:{format_duration(hc.start_period)} "
            f"StartInterval:{format_duration(hc.start_interval)} Retries:{hc.retries}}}")


_SIGNALS = {"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO",
            "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP",
            "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM",
            "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"}
_SIGNALS |= {f"RTMIN+{n}" for n in range(1, 16)} | {f"RTMAX-{n}" for n in range(1, 15)}


def check_signal(text: str) -> None:
    """moby/sys/signal.ParseSignal: a number or a (SIG-prefixed) Linux name."""
    if text.lstrip("+-").isdigit() and text.isascii():
        if int(text) != 0:
            return
    elif text.upper().removeprefix("SIG") in _SIGNALS:
        return
    raise ValueError(f"invalid signal: {text}")


def _with_shell(config: dict, args: list[str] | None, prepend: bool, classic: bool):
    """Shell form: BuildKit joins the words after SHELL; the classic builder
    appends them (and leaves an empty ENTRYPOINT empty)."""
    if not prepend:
        return args
    if classic:
        return None if args is None else _shell(config) + args
    return _shell(config) + [" ".join(args or [])]


# --- apply ----------------------------------------------------------------------

def apply(image_config: dict, command: ins.Command, state: StageState | None = None,
          *, classic: bool = False) -> HistoryStep | None:
    """Apply one (already expanded) metadata instruction; returns its history step.

    Raises ValueError with BuildKit's text for invalid ports or signals.
    """
    state = state if state is not None else StageState()
    config = _config(image_config)
    if isinstance(command, ins.Env):
        env = list(config.get("Env") or [])
        for pair in command.pairs:
            env = add_env(env, pair.key, pair.value)
        config["Env"] = env
        return HistoryStep("ENV " + " ".join(str(p) for p in command.pairs))
    if isinstance(command, ins.Label):
        labels = config.get("Labels") or {}
        for pair in command.pairs:
            labels[pair.key] = pair.value
        config["Labels"] = labels
        return HistoryStep("LABEL " + " ".join(str(p) for p in command.pairs))
    if isinstance(command, ins.Cmd):
        args = _with_shell(config, command.cmd_line, command.prepend_shell, classic)
        _set_or_drop(config, "Cmd", args)
        _set_or_drop(config, "ArgsEscaped", not classic)
        if not classic or command.cmd_line:
            state.cmd_set = True
        return HistoryStep("CMD " + go_q_list(args or []))
    if isinstance(command, ins.Entrypoint):
        args = _with_shell(config, command.cmd_line, command.prepend_shell, classic)
        _set_or_drop(config, "Entrypoint", args)
        if classic:
            config.pop("ArgsEscaped", None)
        if not state.cmd_set:
            config.pop("Cmd", None)
        return HistoryStep("ENTRYPOINT " + go_q_list(args or []))
    if isinstance(command, ins.Healthcheck):
        config["Healthcheck"] = _health_json(command)
        return HistoryStep("HEALTHCHECK " + ("&" if classic else "") + healthcheck_text(command))
    if isinstance(command, ins.Expose):
        ports = parse_ports(command.ports)
        exposed = config.get("ExposedPorts") or {}
        for port in ports:
            exposed[port] = {}
        config["ExposedPorts"] = exposed
        return HistoryStep("EXPOSE " + go_v_list(ports))
    if isinstance(command, ins.Volume):
        volumes = config.get("Volumes") or {}
        for volume in command.volumes:
            volumes[volume] = {}
        config["Volumes"] = volumes
        return HistoryStep("VOLUME " + go_v_list(command.volumes))
    if isinstance(command, ins.User):
        config["User"] = command.user
        return HistoryStep("USER " + command.user)
    if isinstance(command, ins.Workdir):
        workdir = normalize_workdir(config.get("WorkingDir", ""), command.path, clean=classic)
        config["WorkingDir"] = workdir
        return HistoryStep("WORKDIR " + workdir, empty_layer=workdir == "/")
    if isinstance(command, ins.StopSignal):
        check_signal(command.signal)
        config["StopSignal"] = command.signal
        return HistoryStep("STOPSIGNAL " + command.signal)
    if isinstance(command, ins.Shell):
        config["Shell"] = list(command.shell)
        return HistoryStep("SHELL " + go_v_list(command.shell))
    if isinstance(command, ins.Onbuild):
        config["OnBuild"] = list(config.get("OnBuild") or []) + [command.expression]
        return None
    if isinstance(command, ins.Maintainer):
        image_config["author"] = command.maintainer
        return HistoryStep("MAINTAINER " + command.maintainer)
    if isinstance(command, ins.Arg):
        # values are resolved by the builder (--build-arg, default, global ARG)
        state.build_args += command.args
        texts = [key if value is None else f"{key}={value}" for key, value in command.args]
        return HistoryStep("ARG " + " ".join(texts))
    raise TypeError(f"{command.keyword} is not a metadata instruction")


def classic_created_by(command: ins.Command, image_config: dict, shell: list[str] | None = None) -> str:
    """The classic builder's `created_by` for a metadata instruction (§4.2).

    Call it with the config *after* apply(..., classic=True) (CMD and
    ENTRYPOINT print the resulting value); shell = the SHELL in effect.
    """
    config = _config(image_config)
    prefix = " ".join(shell or _shell(config)) + " #(nop) "
    if isinstance(command, ins.Workdir):
        return prefix + "WORKDIR " + config.get("WorkingDir", "")
    if isinstance(command, ins.Expose):
        text = "EXPOSE " + " ".join(command.ports)
    elif isinstance(command, ins.Onbuild):
        text = "ONBUILD " + command.expression
    elif isinstance(command, ins.Cmd):
        text = "CMD " + go_q_list(config.get("Cmd") or [])
    elif isinstance(command, ins.Entrypoint):
        text = "ENTRYPOINT " + go_q_list(config.get("Entrypoint") or [])
    elif isinstance(command, ins.Healthcheck):
        text = "HEALTHCHECK &" + healthcheck_text(command)
    elif isinstance(command, ins.StopSignal):
        text = "STOPSIGNAL " + command.signal
    else:
        step = apply({"config": dict(config)}, command, StageState(), classic=True)
        text = step.created_by if step else ""
    return prefix + " " + text


# --- RUN / COPY / ADD history ------------------------------------------------------

def run_argv(run: ins.Run, shell: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The process argv of a RUN, and inline files to mount under /dev/pipes/.

    A single heredoc runs its body through the shell, or is run as a script
    from /dev/pipes/<name> when it starts with `#!`; several heredocs (or
    `cmd <<EOF`) go to the shell as a reconstituted heredoc script.
    """
    args = list(run.cmd_line)
    pipes: dict[str, str] = {}
    if run.files:
        if len(args) != 1 or not run.prepend_shell:
            raise ValueError(f"parsing produced an invalid run command: {go_v_list(args)}")
        if maybe_heredoc(args[0]) is not None:
            first = run.files[0]
            data = chomp_heredoc(first.content) if first.chomp else first.content
            if data.startswith("#!"):
                pipes[first.name] = data
                args = [posixpath.join("/dev/pipes/", first.name)]
            else:
                args = [data]
        else:
            args = [args[0] + "".join("\n" + f.content + f.name for f in run.files)]
    if run.prepend_shell:
        args = list(shell or DEFAULT_SHELL) + [" ".join(args)]
    return args, pipes


def run_created_by(argv: list[str], build_args: list[tuple[str, str | None]],
                   env: dict[str, str]) -> str:
    """`RUN [|N K=v ...] argv # buildkit`: every ARG declared so far in the stage,
    valued from the environment if set there, else its own value."""
    values: dict[str, str] = {}
    for key, value in build_args:
        values[key] = env[key] if key in env else (value or "")
    prefix = [f"|{len(values)}"] + [f"{k}={v}" for k, v in values.items()] if values else []
    return "RUN " + " ".join(prefix + list(argv)) + " # buildkit"


def copy_created_by(command: ins.Copy | ins.Add) -> str:
    """`COPY [--parents] [--chown=..] [--chmod=..] src... <<EOF... dest # buildkit`."""
    parts = [command.keyword]
    if getattr(command, "parents", False):
        parts.append("--parents")
    if command.chown:
        parts.append("--chown=" + command.chown)
    if command.chmod:
        parts.append("--chmod=" + command.chmod)
    parts += command.sources
    parts += ["<<" + content.path for content in command.contents]
    parts.append(command.dest)
    return " ".join(parts) + " # buildkit"


# --- docker commit / import --change -----------------------------------------------

def parse_changes(changes: list[str]) -> list[ins.Command]:
    """Parse `--change` values as moby does (joined by newlines, allowed set only)."""
    result = parse_nodes("\n".join(changes))
    commands = []
    for node in result.nodes:
        if node.keyword.lower() not in COMMIT_CHANGE_COMMANDS:
            raise DockerfileError(f"{node.keyword} is not a valid change command",
                                  node.start_line, node.end_line)
        commands.append(ins.parse_instruction(node, prefix=False))
    return commands


def parse_change(text: str) -> ins.Command:
    """One `--change` value, e.g. `CMD ["x"]` or `ENV A=1`."""
    commands = parse_changes([text])
    if len(commands) != 1:
        raise DockerfileError("a --change value must hold exactly one instruction", 1)
    return commands[0]


def apply_changes(image_config: dict, changes: list[str]) -> dict:
    """Apply `--change` values to image_config (in place, also returned).

    Values are expanded against the config's Env, as the classic builder does.
    Errors (DockerfileError / ValueError) carry the daemon's message.
    """
    state = StageState()
    for command in parse_changes(changes):
        env = env_from_list(_config(image_config).get("Env") or [])
        try:
            command = expand_command(command, env)
        except ValueError as err:
            raise DockerfileError(str(err), command.line) from None
        apply(image_config, command, state, classic=True)
    return image_config
