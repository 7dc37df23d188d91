"""Tab completion and shift-tab help for the session.

After `docker`: subcommands, flags, and the names of images, containers, volumes and
networks (asked from the engine with a short timeout: a slow or failing engine just
gives no names). Elsewhere: bash's own compgen (commands, variables, files).
"""

import re

from . import dockerwords
from .session import SessionTimeout

NAMES_TIMEOUT = 3.0
_LISTERS = {
    "image": "docker images --format '{{.Repository}}:{{.Tag}}'",
    "container": "docker ps -a --format '{{.Names}}'",
    "volume": "docker volume ls -q",
    "network": "docker network ls --format '{{.Name}}'",
}
# Separators between commands: completion looks at the last command only.
_COMMAND_SPLIT = re.compile(r"\|\||&&|[|;&(`]|\$\(")
_WORD_BREAK = re.compile(r"[\s\"'=<>]")


def _helper(session, command: str, timeout: float = NAMES_TIMEOUT) -> list[str]:
    try:
        text = session.run_quiet(command, timeout=timeout + 1)
    except SessionTimeout:
        return []
    return [w for w in text.split("\n") if w and "<none>" not in w]


def _names(session, kind: str) -> list[str]:
    return _helper(session, f"timeout {NAMES_TIMEOUT:g} {_LISTERS[kind]} </dev/null 2>/dev/null")


def _compgen(session, options: str, word: str) -> list[str]:
    return _helper(session, f"compgen {options} -- {_quote(word)} 2>/dev/null")


def _paths(session, word: str) -> list[str]:
    """Files, and folders with a trailing slash (so completion can go on inside)."""
    dirs = _compgen(session, "-d -S /", word)
    files = [f for f in _compgen(session, "-f", word) if f + "/" not in dirs]
    return dirs + files


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def docker_context(words: list[str]) -> tuple[str | None, int]:
    """The command path in `docker ARGS...` (None if still at the command) and how many
    positional arguments follow it. `words` excludes `docker` and the word being typed."""
    table = dockerwords.table()
    path, positional, takes_value = None, 0, dockerwords.value_flags(None)
    skip = False
    for word in words:
        if skip:  # the value of the previous flag
            skip = False
        elif word.startswith("-"):
            skip = "=" not in word and word in takes_value
        elif path is None:
            path, positional = word, -1 if word in dockerwords.groups() else 0
            takes_value = dockerwords.value_flags(path)
        elif positional == -1:
            path, positional = f"{path} {word}", 0
            path = path if path in table else None
            takes_value = dockerwords.value_flags(path)
        else:
            positional += 1
    return path, positional


def _flag_value(words: list[str]) -> str | None:
    """The flag whose value is being typed (`--network <tab>`), if any."""
    if words and words[-1].startswith("-") and "=" not in words[-1]:
        path, _ = docker_context(words[:-1])
        if words[-1] in dockerwords.value_flags(path):
            return words[-1]
    return None


def complete(session, code: str, cursor_pos: int) -> dict:
    before = code[:cursor_pos]
    line = before.split("\n")[-1]
    command = _COMMAND_SPLIT.split(line)[-1]
    word = _WORD_BREAK.split(command)[-1]
    words = command[:len(command) - len(word)].split()
    matches = _matches(session, words, word)
    return {"matches": matches, "cursor_start": cursor_pos - len(word),
            "cursor_end": cursor_pos, "metadata": {}, "status": "ok"}


def _matches(session, words: list[str], word: str) -> list[str]:
    if words and words[0] in ("docker", "baleine"):
        found = _docker_matches(session, words[1:], word)
    elif word.startswith("$"):
        found = ["$" + v for v in _compgen(session, "-v", word[1:])]
    elif not words:
        found = _compgen(session, "-c", word)  # commands, aliases, functions, builtins
    else:
        found = _paths(session, word)
    return sorted({m for m in found if m.startswith(word)})


def _docker_matches(session, args: list[str], word: str) -> list[str]:
    flag = _flag_value(args)
    if flag in ("--network", "--net"):
        return _names(session, "network")
    if flag in ("-v", "--volume"):
        return _names(session, "volume") + _paths(session, word)
    if flag in ("--name", "-e", "--env", "-p", "--publish", "-u", "--user", "-t", "--tag"):
        return []  # free text
    if flag is not None:
        return _paths(session, word)
    path, positional = docker_context(args)
    table = dockerwords.table()
    if path is None and positional == 0:
        return dockerwords.GLOBAL_FLAGS if word.startswith("-") else dockerwords.subcommands()
    if positional == -1:
        return dockerwords.subcommands(path)
    if word.startswith("-"):
        return table.get(path, []) + ["--help"]
    names: list[str] = []
    if path in dockerwords.IMAGE_ARGS and not (path.endswith("run") or path.endswith("create")) \
            or positional == 0 and path.endswith(("run", "create")):
        names += _names(session, "image")
    if path in dockerwords.CONTAINER_ARGS:
        names += _names(session, "container")
    if path in dockerwords.VOLUME_ARGS:
        names += _names(session, "volume")
    if path in dockerwords.NETWORK_ARGS:
        names += _names(session, "network")
    if path in dockerwords.PATH_ARGS or not names:
        names += _paths(session, word)
    return names


def inspect(session, code: str, cursor_pos: int) -> dict:
    """Shift-tab: `docker <command> --help` for the docker command under the cursor,
    `help <builtin>` for a bash builtin."""
    line = code[:cursor_pos].split("\n")[-1] + _WORD_BREAK.split(code[cursor_pos:] + " ")[0]
    words = _COMMAND_SPLIT.split(line)[-1].split()
    text = ""
    if words and words[0] in ("docker", "baleine"):
        path, _ = docker_context(words[1:])
        if path is None and words[1:2] and words[1] in dockerwords.groups():
            path = words[1]
        helper = f"docker {path} --help" if path else "docker --help"
        text = "\n".join(_helper(session, f"timeout 5 {helper} </dev/null 2>&1", timeout=5))
        if not text.strip() and path in dockerwords.table():
            text = f"docker {path}\n\nOptions: " + " ".join(dockerwords.table()[path])
    elif words:
        text = "\n".join(_helper(session, f"help {_quote(words[0])} 2>/dev/null"))
    if not text.strip():
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}
