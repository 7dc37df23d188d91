"""Dockerfile text -> raw instruction nodes, following BuildKit's parser package.

Line handling (BuildKit `frontend/dockerfile/parser`):
* Parser directives (`# syntax=`, `# escape=`, `# check=`) are read only until the
  first line that is not one (an empty line, another comment, an instruction);
  an unknown directive counts as a comment and ends the directive block.
* A line ending with the escape character (optionally followed by blanks) continues
  on the next line; the escape character is dropped and lines are glued without a
  separator. Comment lines and empty lines inside a continuation are skipped.
* `RUN`, `COPY`, `ADD` (also behind `ONBUILD`) in shell form may carry heredocs:
  their bodies follow the instruction line, up to a line equal to the delimiter.
* JSON (exec) form is a valid JSON array of strings, else the shell form is used;
  a JSON array containing a non-string is an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .expand import ExpandError, Lex

__all__ = ["DockerfileError", "Heredoc", "Node", "ParseResult", "parse_nodes",
           "parse_heredoc", "chomp_heredoc", "parse_words"]

DEFAULT_ESCAPE = "\\"
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"([0-9]*)<<(-?)[ \t\n\f\r]*([^<]*)\Z")
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[ \t\n\f\r]*=[ \t\n\f\r]*(.+?)[ \t\n\f\r]*\Z")
_VALID_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC_INSTRUCTIONS = ("add", "copy", "run")


class DockerfileError(ValueError):
    """A Dockerfile BuildKit would reject; `message` is BuildKit's text."""

    def __init__(self, message: str, line: int = 0, end_line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.end_line = line if end_line is None or end_line < line else end_line


@dataclass
class Heredoc:
    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0


@dataclass
class Node:
    """One instruction as the parser sees it (BuildKit's parser.Node, flattened).

    `args` is what BuildKit's instruction parsing receives: for ENV/LABEL the
    triples (key, value, "=" or "" for the legacy `KEY value` form), for
    HEALTHCHECK the type then the command, for ONBUILD the inner keyword then
    the inner args.
    """

    keyword: str                      # as written, e.g. "run" or "RUN"
    original: str                     # the logical line (continuations joined)
    flags: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    comments: list[str] = field(default_factory=list)
    child: "Node | None" = None       # the instruction wrapped by ONBUILD

    def can_contain_heredoc(self) -> bool:
        node = self.child if self.keyword.lower() == "onbuild" and self.child else self
        return node.keyword.lower() in _HEREDOC_INSTRUCTIONS and not node.json


@dataclass
class ParseResult:
    nodes: list[Node]
    escape: str
    directives: dict[str, str]
    warnings: list[str]


class _Directives:
    """Directive state: the escape token and the end of the directive block."""

    def __init__(self) -> None:
        self.done = False
        self.seen: dict[str, str] = {}
        self.set_escape(DEFAULT_ESCAPE)

    def set_escape(self, token: str) -> None:
        if token not in ("`", "\\"):
            raise ValueError(f"invalid escape token '{token}' does not match ` or \\")
        self.escape = token
        esc = re.escape(token)
        # an escape at the end of a line (not itself escaped) continues it
        self.continuation = re.compile(f"([^{esc}]){esc}[ \\t]*\\Z|^{esc}[ \\t]*\\Z")

    def check(self, line: str) -> bool:
        """Record line if it is a directive; True when it was one."""
        if self.done:
            return False
        if not line.startswith("#"):
            self.done = True
            return False
        match = _DIRECTIVE.match(line[1:].lstrip())
        if not match or match.group(1).lower() not in _VALID_DIRECTIVES:
            self.done = True
            return False
        key = match.group(1).lower()
        if key in self.seen:
            raise ValueError(f"only one {key} parser directive can be used")
        self.seen[key] = match.group(2)
        if key == "escape":
            self.set_escape(match.group(2))
        return True


def _scan_lines(text: str) -> list[str]:
    # lines keep their "\n"; only "\n" separates lines, as in Go's scanner
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _process_line(d: _Directives, raw: str, strip_left: bool) -> tuple[str, bool]:
    token = raw.rstrip("\r\n")
    if strip_left:
        token = token.lstrip()
    is_directive = d.check(token)
    return ("" if _is_comment(token) else token), is_directive


def _trim_continuation(line: str, d: _Directives) -> tuple[str, bool]:
    if d.continuation.search(line):
        return d.continuation.sub(lambda m: m.group(1) or "", line, count=1), False
    return line, True


def parse_nodes(text: str | bytes) -> ParseResult:
    """Split a Dockerfile into nodes; raises DockerfileError (BuildKit texts)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    d = _Directives()
    lines = _scan_lines(text)
    nodes: list[Node] = []
    warnings: list[str] = []
    comments: list[str] = []
    index = 0
    current = 0  # number of lines consumed, as BuildKit counts them
    while index < len(lines):
        raw = lines[index]
        index += 1
        if current == 0:
            raw = raw.removeprefix("\ufeff")
        if _is_comment(raw):
            comment = raw[1:].strip()
            comments = comments + [comment] if comment else []
        try:
            line, is_directive = _process_line(d, raw, strip_left=True)
        except ValueError as err:
            raise DockerfileError(str(err), current) from None
        if is_directive:
            comments = comments[:-1]
        current += 1
        start = current
        line, end_of_line = _trim_continuation(line, d)
        if end_of_line and not line:
            continue
        parts = [line]
        empty_continuation = False
        while not end_of_line and index < len(lines):
            raw = lines[index]
            index += 1
            try:
                line, _ = _process_line(d, raw, strip_left=False)
            except ValueError as err:
                raise DockerfileError(str(err), current) from None
            current += 1
            if _is_comment(raw):
                continue
            if not line.strip():
                empty_continuation = True
                continue
            line, end_of_line = _trim_continuation(line, d)
            parts.append(line)
        line = "".join(parts)
        if empty_continuation:
            warnings.append("Empty continuation line found in: " + line)
        try:
            node = _node_from_line(line, d, comments)
        except ValueError as err:
            raise DockerfileError(str(err), start, current) from None
        if node.can_contain_heredoc() and "<<" in line:
            try:
                node.heredocs = _heredocs_from_line(line)
            except ExpandError as err:
                raise DockerfileError(str(err), start, current) from None
            for heredoc in node.heredocs:
                body: list[str] = []
                terminated = False
                while index < len(lines):
                    raw = lines[index]
                    index += 1
                    current += 1
                    candidate = raw.rstrip("\r\n")
                    if heredoc.chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == heredoc.name:
                        terminated = True
                        break
                    body.append(raw)
                if not terminated:
                    raise DockerfileError("unterminated heredoc", start, current)
                heredoc.content = "".join(body)
        node.start_line, node.end_line = start, current
        nodes.append(node)
        comments = []
    if not nodes:
        raise DockerfileError("file with no instructions", current)
    return ParseResult(nodes, d.escape, dict(d.seen), warnings)


# --- one logical line ------------------------------------------------------

def _node_from_line(line: str, d: _Directives, comments: list[str]) -> Node:
    keyword, flags, rest = _split_command(line, d)
    parse_args = _LINE_PARSERS.get(keyword.lower(), _parse_ignore)
    args, is_json, child = parse_args(rest, d)
    return Node(keyword=keyword, original=line, flags=flags, args=args,
                json=is_json, comments=list(comments), child=child)


def _split_command(line: str, d: _Directives) -> tuple[str, list[str], str]:
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        rest, flags = _extract_flags(parts[1], d)
    return parts[0], flags, rest.strip()


def _extract_flags(line: str, d: _Directives) -> tuple[str, list[str]]:
    """Leading `--name[=value]` words (quotes and escapes removed); `--` ends them."""
    words: list[str] = []
    pos = 0
    while True:
        while pos < len(line) and line[pos].isspace():
            pos += 1
        if not line.startswith("--", pos):
            return line[pos:], words
        word: list[str] = []
        blank_ok = False
        quote = ""
        while pos < len(line):
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == d.escape and pos + 1 < len(line):
                    pos += 1
                    word.append(line[pos])
                elif ch != d.escape:
                    word.append(ch)
                pos += 1
                continue
            if ch.isspace():
                break
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
            elif ch == d.escape:
                if pos + 1 < len(line):
                    pos += 1
                    word.append(line[pos])
            else:
                word.append(ch)
            pos += 1
        text = "".join(word)
        if pos < len(line) and text == "--":
            return line[pos:], words
        if text != "--" and (blank_ok or text):
            words.append(text)
        if pos >= len(line):
            return "", words


def parse_words(rest: str, escape: str = DEFAULT_ESCAPE) -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes (ENV/LABEL/ARG)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    blank_ok = False
    quote = ""
    pos = 0
    while pos < len(rest):
        ch = rest[pos]
        if not in_word:
            if ch.isspace():
                pos += 1
                continue
            in_word = True
        if quote:
            if ch == quote:
                quote = ""
            if ch == escape and quote != "'" and ch != quote:
                if pos + 1 == len(rest):
                    pos += 1
                    continue  # an escape at the end is dropped
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch.isspace():
            if blank_ok or word:
                words.append("".join(word))
            word, in_word, blank_ok = [], False, False
            pos += 1
            continue
        if ch in ("'", '"'):
            quote = ch
            blank_ok = True
        if ch == escape:
            if pos + 1 == len(rest):
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    if in_word and (blank_ok or word):
        words.append("".join(word))
    return words


# --- per-instruction line parsers: (args, is_json, child) -------------------

def _parse_ignore(rest, d):
    return [""], False, None


def _parse_sub_command(rest, d):
    if not rest:
        return [], False, None
    child = _node_from_line(rest, d, [])
    return [child.keyword] + child.args, False, child


def _parse_name_val(rest, d, key):
    words = parse_words(rest, d.escape)
    if not words:
        return []
    if "=" not in words[0]:
        # legacy form `KEY name value`: the value is the rest of the line
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{key} must have two arguments")
        return [parts[0], parts[1], ""]
    args = []
    for word in words:
        if "=" not in word:
            raise ValueError(f"Syntax error - can't find = in {_go_quote(word)}. "
                             "Must be of the form: name=value")
        name, value = word.split("=", 1)
        args += [name, value, "="]
    return args


def _parse_env(rest, d):
    return _parse_name_val(rest, d, "ENV"), False, None


def _parse_label(rest, d):
    return _parse_name_val(rest, d, "LABEL"), False, None


def _parse_name_or_name_val(rest, d):
    return parse_words(rest, d.escape), False, None


def _parse_whitespace_delimited(rest, d):
    if not rest:
        return [], False, None
    return _WHITESPACE.split(rest), False, None


def _parse_string(rest, d):
    return ([rest] if rest else []), False, None


class _NotStringArray(ValueError):
    pass


def _reject_constant(name):
    raise ValueError(name)  # Go's JSON has no NaN/Infinity


def _parse_json(rest: str) -> list[str] | None:
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest, parse_constant=_reject_constant)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise ValueError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _parse_maybe_json(rest, d):
    if not rest:
        return [], False, None
    items = _parse_json(rest)
    if items is not None:
        return items, True, None
    return [rest], False, None


def _parse_maybe_json_to_list(rest, d):
    items = _parse_json(rest)
    if items is not None:
        return items, True, None
    return _parse_whitespace_delimited(rest, d)


def _parse_health_config(rest, d):
    sep = 0
    while sep < len(rest) and not rest[sep].isspace():
        sep += 1
    if sep == 0:
        return [], False, None
    after = rest[sep:].lstrip()
    args, is_json, _ = _parse_maybe_json(after, d)
    return [rest[:sep]] + args, is_json, None


_LINE_PARSERS = {
    "add": _parse_maybe_json_to_list,
    "arg": _parse_name_or_name_val,
    "cmd": _parse_maybe_json,
    "copy": _parse_maybe_json_to_list,
    "entrypoint": _parse_maybe_json,
    "env": _parse_env,
    "expose": _parse_whitespace_delimited,
    "from": _parse_whitespace_delimited,
    "healthcheck": _parse_health_config,
    "label": _parse_label,
    "maintainer": _parse_string,
    "onbuild": _parse_sub_command,
    "run": _parse_maybe_json,
    "shell": _parse_maybe_json,
    "stopsignal": _parse_string,
    "user": _parse_string,
    "volume": _parse_maybe_json_to_list,
    "workdir": _parse_string,
}


# --- heredocs -----------------------------------------------------------

def parse_heredoc(word: str) -> Heredoc | None:
    """The heredoc a word such as `<<EOF`, `<<-"EOF"` or `3<<EOF` opens, if any."""
    match = _HEREDOC.match(word)
    if not match:
        return None
    fd = int(match.group(1)) if match.group(1) else 0
    rest = match.group(3)
    if not rest:
        return None
    words = Lex("\\", skip_unset_env=True).process_words(rest, {})
    if len(words) != 1:
        return None
    raw = Lex("\\", skip_unset_env=True, raw_quotes=True).process_words(rest, {})
    if len(raw) != 1:
        raise ExpandError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    # a quoted delimiter (any part of it) disables expansion of the body
    expand = _quote_count(words[0]) == _quote_count(raw[0])
    return Heredoc(name=words[0], expand=expand, chomp=match.group(2) == "-", fd=fd)


def maybe_heredoc(word: str) -> Heredoc | None:
    """parse_heredoc ignoring errors (BuildKit's MustParseHeredoc)."""
    try:
        return parse_heredoc(word)
    except ExpandError:
        return None


def _quote_count(text: str) -> int:
    return text.count("'") + text.count('"')


def _heredocs_from_line(line: str) -> list[Heredoc]:
    lex = Lex("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process_words(line, {})
    except ExpandError:
        words = []
    heredocs = []
    for word in words:
        heredoc = parse_heredoc(word)
        if heredoc is not None:
            heredocs.append(heredoc)
    return heredocs


def chomp_heredoc(content: str) -> str:
    """`<<-` bodies lose the leading tabs of every line."""
    return re.sub(r"(?m)^\t+", "", content)


def _go_quote(text: str) -> str:
    from .gofmt import go_quote
    return go_quote(text)
