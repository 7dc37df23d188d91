"""Docker's commands and flags, for completion: a static table of the docker CLI, merged
with what `baleine.cli` declares (its COMMANDS and Command objects) when importable."""

import importlib

# "command path": "flags" (short flags as -x, long ones as --name).
_STATIC = {
    "attach": "--detach-keys --no-stdin --sig-proxy",
    "build": "--add-host --build-arg --cache-from --cpu-shares -f --file --iidfile --label "
             "--network --no-cache --platform --progress --pull -q --quiet --rm --secret "
             "--ssh -t --tag --target",
    "commit": "-a --author -c --change -m --message -p --pause",
    "cp": "-a --archive -L --follow-link -q --quiet",
    "create": "--add-host -a --attach --cap-add --cap-drop --cpus -e --env --env-file "
              "--entrypoint --expose -h --hostname -i --interactive -l --label --mount "
              "--name --network -p --publish -P --publish-all --platform --privileged "
              "--pull --read-only --restart --rm -t --tty -u --user -v --volume -w --workdir",
    "diff": "",
    "events": "-f --filter --format --since --until",
    "exec": "-d --detach --detach-keys -e --env --env-file -i --interactive --privileged "
            "-t --tty -u --user -w --workdir",
    "export": "-o --output",
    "history": "--format -H --human --no-trunc -q --quiet",
    "images": "-a --all --digests -f --filter --format --no-trunc -q --quiet --tree",
    "import": "-c --change -m --message --platform",
    "info": "-f --format",
    "inspect": "-f --format -s --size --type",
    "kill": "-s --signal",
    "load": "-i --input -q --quiet",
    "login": "-p --password --password-stdin -u --username",
    "logout": "",
    "logs": "--details -f --follow --since -n --tail -t --timestamps --until",
    "pause": "",
    "port": "",
    "ps": "-a --all -f --filter --format -n --last -l --latest --no-trunc -q --quiet -s --size",
    "pull": "-a --all-tags --disable-content-trust --platform -q --quiet",
    "push": "-a --all-tags --disable-content-trust -q --quiet",
    "rename": "",
    "restart": "-s --signal -t --time",
    "rm": "-f --force -l --link -v --volumes",
    "rmi": "-f --force --no-prune",
    "run": "--add-host -a --attach --cap-add --cap-drop --cpus -d --detach -e --env "
           "--env-file --entrypoint --expose -h --hostname -i --interactive --init -l --label "
           "-m --memory --mount --name --network -p --publish -P --publish-all --platform "
           "--privileged --pull --read-only --restart --rm --sig-proxy -t --tty -u --user "
           "-v --volume -w --workdir",
    "save": "-o --output --platform",
    "search": "-f --filter --format --limit --no-trunc",
    "start": "-a --attach --detach-keys -i --interactive",
    "stats": "-a --all --format --no-stream --no-trunc",
    "stop": "-s --signal -t --time",
    "tag": "",
    "top": "",
    "unpause": "",
    "update": "--cpus -m --memory --restart",
    "version": "-f --format",
    "wait": "",
    "volume create": "-d --driver --label -o --opt",
    "volume inspect": "-f --format",
    "volume ls": "-f --filter --format -q --quiet",
    "volume prune": "-a --all --filter -f --force",
    "volume rm": "-f --force",
    "network connect": "--alias --ip",
    "network create": "-d --driver --gateway --internal --ip-range --label --subnet",
    "network disconnect": "-f --force",
    "network inspect": "-f --format",
    "network ls": "-f --filter --format --no-trunc -q --quiet",
    "network prune": "--filter -f --force",
    "network rm": "-f --force",
    "system df": "--format -v --verbose",
    "system events": "-f --filter --format --since --until",
    "system info": "-f --format",
    "system prune": "-a --all --filter -f --force --volumes",
    "builder prune": "-a --all --filter -f --force",
}
# Management commands: `docker image ls` is `docker images`, and so on.
_ALIASES = {
    "image build": "build", "image history": "history", "image import": "import",
    "image inspect": "inspect", "image load": "load", "image ls": "images",
    "image list": "images", "image prune": "builder prune", "image pull": "pull",
    "image push": "push", "image rm": "rmi", "image save": "save", "image tag": "tag",
    "container attach": "attach", "container commit": "commit", "container cp": "cp",
    "container create": "create", "container diff": "diff", "container exec": "exec",
    "container export": "export", "container inspect": "inspect", "container kill": "kill",
    "container logs": "logs", "container ls": "ps", "container list": "ps",
    "container pause": "pause", "container port": "port", "container prune": "builder prune",
    "container rename": "rename", "container restart": "restart", "container rm": "rm",
    "container run": "run", "container start": "start", "container stats": "stats",
    "container stop": "stop", "container top": "top", "container unpause": "unpause",
    "container update": "update", "container wait": "wait",
}
# Flags that take a value (the next word), so that word is not a positional argument.
_RUN_VALUES = ("-a --attach --add-host --cap-add --cap-drop --cpus -e --env --env-file "
               "--entrypoint -h --hostname -l --label -m --memory --mount --name --network "
               "-p --publish --platform --pull --restart -u --user -v --volume -w --workdir")
_VALUE_FLAGS = {
    "run": _RUN_VALUES, "create": _RUN_VALUES,
    "build": "--add-host --build-arg --cache-from -f --file --iidfile --label --network "
             "--platform --progress --secret --ssh -t --tag --target",
    "exec": "--detach-keys -e --env --env-file -u --user -w --workdir",
    "commit": "-a --author -c --change -m --message",
    "cp": "", "logs": "--since -n --tail --until", "kill": "-s --signal",
    "stop": "-s --signal -t --time", "restart": "-s --signal -t --time",
}
GLOBAL_FLAGS = ["--config", "-D", "--debug", "-H", "--host", "-l", "--log-level", "--help", "-v", "--version"]

# What the positional arguments of a command name.
IMAGE_ARGS = {"run", "create", "pull", "push", "rmi", "tag", "history", "save", "inspect",
              "image rm", "image inspect", "image history", "image push", "image pull",
              "image tag", "image save", "container run", "container create"}
CONTAINER_ARGS = {"attach", "commit", "cp", "diff", "exec", "export", "inspect", "kill", "logs",
                  "pause", "port", "rename", "restart", "rm", "start", "stats", "stop", "top",
                  "unpause", "update", "wait"} | {f"container {c}" for c in (
                      "attach", "commit", "cp", "diff", "exec", "export", "inspect", "kill",
                      "logs", "pause", "port", "rename", "restart", "rm", "start", "stats",
                      "stop", "top", "unpause", "update", "wait")}
VOLUME_ARGS = {"volume rm", "volume inspect"}
NETWORK_ARGS = {"network rm", "network inspect", "network connect", "network disconnect"}
PATH_ARGS = {"build", "image build", "cp", "container cp", "load", "import", "image import"}


def _cli_table() -> dict[str, list[str]]:
    """Commands and flags that baleine's own CLI declares (empty if it cannot be read)."""
    table: dict[str, list[str]] = {}
    try:
        cli = importlib.import_module("baleine.cli")
        flags_mod = importlib.import_module("baleine.cli.flags")
        for path, target in cli.COMMANDS.items():
            table.setdefault(path, [])
        for module_name in {t.split(":")[0] for t in cli.COMMANDS.values()}:
            module = importlib.import_module(f"baleine.cli.{module_name}")
            for value in vars(module).values():
                if isinstance(value, flags_mod.Command):
                    names = [f"--{f.long}" for f in value.flags]
                    names += [f"-{f.short}" for f in value.flags if f.short]
                    for path in (value.path,) + tuple(value.aliases):
                        table.setdefault(path, []).extend(names)
    except Exception:  # the CLI is optional here: completion falls back to the table
        return {}
    return table


_TABLE: dict[str, list[str]] | None = None


def table() -> dict[str, list[str]]:
    """command path -> flags, static table and baleine's CLI merged (computed once)."""
    global _TABLE
    if _TABLE is None:
        merged = {path: flags.split() for path, flags in _STATIC.items()}
        for path, target in _ALIASES.items():
            merged[path] = list(merged[target])
        for path, flags in _cli_table().items():
            merged[path] = sorted(set(merged.get(path, [])) | set(flags))
        _TABLE = merged
    return _TABLE


def value_flags(path: str | None) -> set[str]:
    """The flags of a command that take a value (static table, and baleine's CLI)."""
    if path is None:  # before the command: docker's global flags
        return {"-H", "--host", "--config", "-c", "--context", "-l", "--log-level"}
    group, _, sub = path.partition(" ")
    base = sub if group in ("image", "container") and sub else path
    flags = set(_VALUE_FLAGS.get(base, "").split())
    flags |= _cli_value_flags().get(path, set())
    flags |= {"--format", "-f", "--filter", "-o", "--output"} if base not in ("build", "run", "create") else set()
    return flags


_CLI_VALUES: dict[str, set[str]] | None = None


def _cli_value_flags() -> dict[str, set[str]]:
    global _CLI_VALUES
    if _CLI_VALUES is None:
        _CLI_VALUES = {}
        try:
            cli = importlib.import_module("baleine.cli")
            flags_mod = importlib.import_module("baleine.cli.flags")
            for module_name in {t.split(":")[0] for t in cli.COMMANDS.values()}:
                module = importlib.import_module(f"baleine.cli.{module_name}")
                for value in vars(module).values():
                    if isinstance(value, flags_mod.Command):
                        names = {f"--{f.long}" for f in value.flags if f.kind != "bool"}
                        names |= {f"-{f.short}" for f in value.flags if f.kind != "bool" and f.short}
                        for path in (value.path,) + tuple(value.aliases):
                            _CLI_VALUES.setdefault(path, set()).update(names)
        except Exception:
            pass
    return _CLI_VALUES


def subcommands(group: str | None = None) -> list[str]:
    """Top-level commands (group None) or the subcommands of a management command."""
    paths = table()
    if group is None:
        return sorted({p.split(" ")[0] for p in paths})
    return sorted({p.split(" ")[1] for p in paths if p.startswith(group + " ")})


def groups() -> set[str]:
    return {p.split(" ")[0] for p in table() if " " in p}
