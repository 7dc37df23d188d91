"""The `baleine` (alias `docker`) command line: dispatch to lazily imported command modules.

Only the module of the command being run is imported, so `docker images` does not pay for
the builder or the runtime. Each entry maps a command path to "module:function"; the
function takes the remaining argv and returns the exit status.
"""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "images": "images:list_images",
    "image ls": "images:list_images",
    "image list": "images:list_images",
    "history": "images:history",
    "image history": "images:history",
    "tag": "images:tag",
    "image tag": "images:tag",
    "rmi": "images:remove",
    "image rm": "images:remove",
    "image remove": "images:remove",
    "image inspect": "images:inspect_images",
    "inspect": "images:inspect_any",
    "image prune": "images:prune",
    "import": "archive:import_image",
    "image import": "archive:import_image",
    "load": "archive:load",
    "image load": "archive:load",
    "save": "archive:save",
    "image save": "archive:save",
    "run": "containers:run",
    "container run": "containers:run",
    "create": "containers:create_cmd",
    "container create": "containers:create_cmd",
    "start": "containers:start",
    "container start": "containers:start",
    "stop": "containers:stop",
    "container stop": "containers:stop",
    "kill": "containers:kill",
    "container kill": "containers:kill",
    "restart": "containers:restart",
    "container restart": "containers:restart",
    "wait": "containers:wait",
    "container wait": "containers:wait",
    "rm": "containers:rm",
    "container rm": "containers:rm",
    "container remove": "containers:rm",
    "rename": "containers:rename",
    "container rename": "containers:rename",
    "container prune": "containers:prune",
    "commit": "containers:commit",
    "container commit": "containers:commit",
    "ps": "containers:ps",
    "container ls": "containers:ps",
    "container list": "containers:ps",
    "container ps": "containers:ps",
    "logs": "containers:logs",
    "container logs": "containers:logs",
    "container inspect": "containers:inspect",
    "exec": "container_tools:exec_cmd",
    "container exec": "container_tools:exec_cmd",
    "cp": "container_tools:cp",
    "container cp": "container_tools:cp",
    "diff": "container_tools:diff",
    "container diff": "container_tools:diff",
    "export": "container_tools:export",
    "container export": "container_tools:export",
    "top": "container_tools:top",
    "container top": "container_tools:top",
    "attach": "container_tools:attach",
    "container attach": "container_tools:attach",
    "version": "system:version",
    "info": "system:info",
    "system info": "system:info",
    "system check": "system:check",
    "volume create": "volumes:create",
    "volume ls": "volumes:ls",
    "volume list": "volumes:ls",
    "volume inspect": "volumes:inspect",
    "volume rm": "volumes:rm",
    "volume remove": "volumes:rm",
    "volume prune": "volumes:prune",
    "network create": "networks:create",
    "network ls": "networks:ls",
    "network list": "networks:ls",
    "network inspect": "networks:inspect",
    "network rm": "networks:rm",
    "network remove": "networks:rm",
    "network connect": "networks:connect",
    "network disconnect": "networks:disconnect",
    "network prune": "networks:prune",
    "port": "networks:port",
    "container port": "networks:port",
    "pull": "registry:pull",
    "image pull": "registry:pull",
    "push": "registry:push",
    "image push": "registry:push",
    "login": "registry:login",
    "logout": "registry:logout",
    "build": "build:build",
    "image build": "build:build",
    "buildx build": "build:build",
    "builder build": "build:build",
    "builder prune": "build:prune",
}

# Commands that group subcommands (`docker image ...`), for help and error texts.
GROUPS = {
    "image": "Manage images",
    "container": "Manage containers",
    "system": "Manage Docker",
    "volume": "Manage volumes",
    "network": "Manage networks",
    "builder": "Manage builds",
}

USAGE = """
Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers (Baleine: daemonless and rootless, in Python)

Common Commands:
  run         Create and run a new container from an image
  ps          List containers
  images      List images
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  info        Display system-wide information
  inspect     Return low-level information on Docker objects
  load        Load an image from a tar archive or STDIN
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  version     Show the Docker version information

Management Commands:
  container   Manage containers
  image       Manage images
  system      Manage Docker

Run 'docker COMMAND --help' for more information on a command.
"""


def _find(argv: list[str]) -> tuple[str | None, list[str]]:
    if len(argv) >= 2 and f"{argv[0]} {argv[1]}" in COMMANDS:
        return f"{argv[0]} {argv[1]}", argv[2:]
    if argv and argv[0] in COMMANDS:
        return argv[0], argv[1:]
    return None, argv


def _group_usage(group: str) -> str:
    subs = sorted({path.split(" ", 1)[1] for path in COMMANDS if path.startswith(group + " ")})
    lines = [f"\nUsage:  docker {group} COMMAND\n", GROUPS[group], "", "Commands:"]
    lines += [f"  {s}" for s in subs]
    lines.append(f"\nRun 'docker {group} COMMAND --help' for more information on a command.")
    return "\n".join(lines) + "\n"


def run(argv: list[str]) -> int:
    from baleine.cli.flags import HelpRequested

    if not argv or argv[0] in ("--help", "-h", "help"):
        sys.stdout.write(USAGE)
        return 0
    if argv[0] in ("--version", "-v"):
        from baleine import __version__
        sys.stdout.write(f"Baleine version {__version__}, docker-compatible (no daemon)\n")
        return 0
    path, rest = _find(argv)
    if path is None:
        if argv[0] in GROUPS:
            if len(argv) == 1 or argv[1] in ("--help", "-h"):
                sys.stdout.write(_group_usage(argv[0]))
                return 0
            sys.stderr.write(f"docker: unknown command: docker {argv[0]} {argv[1]}\n\n"
                             f"Run 'docker {argv[0]} --help' for more information\n")
            return 1
        sys.stderr.write(f"docker: '{argv[0]}' is not a docker command.\nSee 'docker --help'\n")
        return 1
    module_name, func_name = COMMANDS[path].split(":")
    import importlib
    module = importlib.import_module(f"baleine.cli.{module_name}")
    try:
        return getattr(module, func_name)(rest, path) or 0
    except HelpRequested as help_:
        sys.stdout.write(help_.command.help_text())
        return 0


def main(argv: list[str] | None = None) -> int:
    from baleine.errors import BaleineError

    try:
        return run(sys.argv[1:] if argv is None else argv)
    except BaleineError as err:
        sys.stdout.flush()
        sys.stderr.write(f"{err}\n")
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `docker images | head -1`: the reader left; say nothing, like Go programs.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as err:  # a bug in Baleine: one line, the traceback on request
        if os.environ.get("BALEINE_DEBUG"):
            raise
        sys.stderr.write(f"baleine: internal error: {type(err).__name__}: {err} "
                         "(set BALEINE_DEBUG=1 for the traceback)\n")
        return 125
