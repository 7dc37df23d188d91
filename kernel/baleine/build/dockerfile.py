"""Parse a Dockerfile into stages of typed instructions, as BuildKit does.

Why our own parser rather than the PyPI `dockerfile` package (3.4.0)? It does
ship a cp39-abi3 manylinux x86_64 wheel and its Go parser handles heredocs, but
it is a compiled Go extension (one more binary to trust on every student
platform) and it only covers the first half of the job: it keeps unknown
instructions, does not type flags or arguments, does not chomp `<<-` bodies,
and reports no BuildKit instruction errors. So the parser is pure Python here
(parser.py for lines/continuations/directives/JSON/heredocs, instructions.py
for the per-instruction rules), written from BuildKit's parser behaviour; the
test suite compares our nodes with the `dockerfile` package when it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import instructions as ins
from .parser import DockerfileError, Node, ParseResult, parse_nodes

__all__ = ["Dockerfile", "Stage", "parse", "parse_nodes", "parse_onbuild_trigger", "DockerfileError"]


@dataclass
class Stage:
    base: str                        # image reference (unexpanded), "scratch" or a stage
    name: str                        # lower-cased `AS` name, "" if none
    platform: str
    line: int
    code: str
    commands: list[ins.Command] = field(default_factory=list)
    from_command: ins.From | None = None


@dataclass
class Dockerfile:
    stages: list[Stage]
    meta_args: list[ins.Arg]         # ARGs before the first FROM
    escape: str
    directives: dict[str, str]       # e.g. {"syntax": "docker/dockerfile:1"}
    warnings: list[str]
    instructions: list[ins.Command]  # every instruction in file order


def parse(text: str | bytes) -> Dockerfile:
    """Parse a whole Dockerfile; raises DockerfileError with BuildKit's message."""
    if len(text) == 0:
        raise DockerfileError("the Dockerfile cannot be empty", 0)
    result: ParseResult = parse_nodes(text)
    stages: list[Stage] = []
    meta_args: list[ins.Arg] = []
    commands: list[ins.Command] = []
    for node in result.nodes:
        command = ins.parse_instruction(node)
        commands.append(command)
        if isinstance(command, ins.From):
            stages.append(Stage(base=command.base, name=command.name,
                                platform=command.platform, line=command.line,
                                code=command.code, from_command=command))
        elif not stages and isinstance(command, ins.Arg):
            meta_args.append(command)
        elif not stages:
            raise DockerfileError("no build stage in current context",
                                  node.start_line, node.end_line)
        else:
            stages[-1].commands.append(command)
    return Dockerfile(stages=stages, meta_args=meta_args, escape=result.escape,
                      directives=result.directives, warnings=result.warnings,
                      instructions=commands)


def parse_onbuild_trigger(trigger: str, from_line: int = 0) -> ins.Command:
    """One `config.OnBuild` entry of a base image, run at the child's FROM line."""
    nodes = parse_nodes(trigger).nodes
    if len(nodes) != 1:
        raise DockerfileError("onbuild trigger should be a single expression", from_line)
    node = nodes[0]
    node.start_line = node.end_line = from_line
    return ins.parse_instruction(node, prefix=False)
