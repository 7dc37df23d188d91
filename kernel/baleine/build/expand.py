"""Variable substitution in Dockerfile words, as BuildKit's `shell/lex.go` does it.

Facts (BuildKit lexer and Dockerfile reference):
* `$NAME`, `${NAME}`; modifiers `${N:-w}` `${N-w}` `${N:+w}` `${N+w}` `${N:?msg}`
  `${N?msg}`, prefix/suffix removal `${N#p}` `${N##p}` `${N%p}` `${N%%p}` (`*` and
  `?` wildcards), substitution `${N/p/r}` `${N//p/r}`. Anything else after a name
  is "unsupported modifier"; `${}` / `${:x}` are "bad substitution".
* `$` followed by a non-name stays a literal `$`; `$1` or `$@` expand like names.
* Single quotes keep everything literally; double quotes keep everything except
  `$` expansion and the escape character before `"`, `$` or itself.
* The escape character (`\\` or the Dockerfile's `# escape=`) outside quotes keeps
  the next character literally; a trailing one is dropped.
* `process_word` keeps spaces (one word out); `process_words` splits on
  unquoted whitespace *after* expansion, like the shell.

Which instructions expand what is in `expand_command` (builder semantics):
RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/MAINTAINER/ONBUILD are not expanded
(ONBUILD triggers are expanded when they run in the child build).
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

__all__ = ["ExpandError", "Lex", "process_word", "process_words", "env_from_list",
           "expand_command", "expand_arg_default", "expand_from"]

_EOF = ""


class ExpandError(ValueError):
    """A substitution the lexer rejects; the text is BuildKit's."""


def env_from_list(env: Iterable[str]) -> dict[str, str]:
    """`["K=V", ...]` (image Env) to a dict; a later key wins."""
    out: dict[str, str] = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


class _Words:
    """Collects the output of process_words (split on unquoted whitespace)."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.buf: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf = []
        return self.words


class Lex:
    """A configurable lexer; the defaults are the ones the builder uses."""

    def __init__(self, escape: str = "\\", *, raw_quotes: bool = False,
                 raw_escapes: bool = False, skip_process_quotes: bool = False,
                 skip_unset_env: bool = False) -> None:
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_process_quotes = skip_process_quotes
        self.skip_unset_env = skip_unset_env

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        return _Run(self, word, env).process()[0]

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        return _Run(self, word, env).process()[1]

    def unmatched(self, word: str, env: Mapping[str, str]) -> set[str]:
        """Names referenced by word that env does not define (for warnings)."""
        run = _Run(self, word, env)
        run.process()
        return run.unmatched


class _Run:
    """One pass of the lexer over one string."""

    def __init__(self, lex: Lex, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.text = text
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes
        self.unmatched: set[str] = set()

    # scanner
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def process(self) -> tuple[str, list[str]]:
        try:
            return self.stop_on(_EOF, self.raw_escapes)
        except ExpandError as err:
            raise ExpandError(f"failed to process {_go_q(self.text)}: {err}") from None

    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        quotes = not self.lex.skip_process_quotes
        esc = self.lex.escape
        while self.peek() != _EOF:
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result), words.result()
            if ch == "$":
                text = self.dollar()
                result.append(text)
                words.add_string(text)
            elif ch == "<":
                text = self.possible_heredoc()
                result.append(text)
                words.add_raw(text)
            elif quotes and ch in ("'", '"'):
                text = self.single_quote() if ch == "'" else self.double_quote()
                result.append(text)
                words.add_raw(text)
            else:
                ch = self.next()
                if ch == esc:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = self.next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise ExpandError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def single_quote(self) -> str:
        out = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ExpandError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        out = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        esc = self.lex.escape
        while True:
            peek = self.peek()
            if peek == _EOF:
                raise ExpandError("unexpected end of statement while looking for matching double-quote")
            if peek == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if peek == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == esc:
                if self.raw_escapes:
                    out.append(ch)
                nxt = self.peek()
                if nxt == _EOF:
                    continue  # an escape at the very end is dropped
                if nxt in ('"', "$", esc):
                    ch = self.next()
            out.append(ch)

    def possible_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        space = []
        while self.peek() in ("\t", "\r", " ") and self.peek():
            space.append(self.next())
        return "<<" + "".join(space)

    def name(self) -> str:
        out: list[str] = []
        while self.peek() != _EOF:
            ch = self.peek()
            if not out and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    out.append(self.next())
                return "".join(out)
            if not out and ch in "@*#?-$!0":
                return self.next()
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            out.append(self.next())
        return "".join(out)

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value
        self.next()
        if self.peek() == _EOF:
            raise ExpandError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise ExpandError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        mod = ch or "\ufffd"  # Go prints the EOF rune as U+FFFD
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            mod += ch or "\ufffd"
        if ch in ("+", "-", "?", "#", "%") and ch:
            return self._modifier(name, ch, mod, null_is_unset)
        if ch == "/" and not null_is_unset:
            return self._replace(name)
        if null_is_unset:
            self._until("}", False)  # BuildKit reads the word before complaining
        raise ExpandError(f"unsupported modifier ({mod}) in substitution")

    def _modifier(self, name: str, ch: str, mod: str, null_is_unset: bool) -> str:
        pattern_mode = ch in "#%"
        if null_is_unset and pattern_mode:
            raise ExpandError(f"unsupported modifier ({mod}) in substitution")
        word = self._until("}", pattern_mode)
        value, is_set = self.get_env(name)
        if self.lex.skip_unset_env and not is_set:
            return "${" + name + mod + word + "}"
        empty = not is_set or (null_is_unset and value == "")
        if ch == "-":
            return word if empty else value
        if ch == "+":
            return "" if empty else word
        if ch == "?":
            if not is_set:
                raise ExpandError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ExpandError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        greedy = word[:1] == ch
        if greedy:
            word = word[1:]
        if ch == "%":
            return _trim_suffix(word, value, greedy)
        return _trim_prefix(word, value, greedy)

    def _replace(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self._until("/", True, missing="syntax error: missing '/' in ${}")
        replacement = self._until("}", True)
        value, is_set = self.get_env(name)
        if self.lex.skip_unset_env and not is_set:
            return "${%s/%s/%s}" % (name, pattern, replacement)
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda _m: replacement, value)
        match = regex.search(value)
        if match:
            value = value[:match.start()] + replacement + value[match.end():]
        return value

    def _until(self, stop: str, raw_escapes: bool, missing: str = "syntax error: missing '}'") -> str:
        try:
            return self.stop_on(stop, raw_escapes)[0]
        except ExpandError:
            if self.peek() == _EOF:
                raise ExpandError(missing) from None
            raise


def _go_q(text: str) -> str:
    from .gofmt import go_quote
    return go_quote(text)


def _pattern_regex(pattern: str, greedy: bool, anchored: bool) -> re.Pattern:
    """Shell wildcard (`*`, `?`, backslash escapes, no brackets) to a regex."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
        elif tok == "?":
            out.append(".")
        elif tok == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue  # only escaped for the ${} syntax
            i += 1
            if nxt not in ("*", "?", "\\"):
                raise ExpandError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'")
            out.append(re.escape(nxt))
        else:
            out.append(re.escape(tok))
    return re.compile("".join(out))  # Go: `.` does not match a newline


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _pattern_regex(pattern, greedy, anchored=True).search(value)
    return value[match.end():] if match else value


def _reverse_pattern(pattern: str) -> str:
    # reverse, keeping each `\x` escape pair in order
    pieces = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            pieces.append(pattern[i:i + 2])
            i += 2
        else:
            pieces.append(pattern[i])
            i += 1
    return "".join(reversed(pieces))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # shortest/longest rightmost match = leftmost match on the reversed strings
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


_DEFAULT = Lex()


def process_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand and unquote one word, keeping spaces (ENV values, WORKDIR, COPY paths)."""
    return (_DEFAULT if escape == "\\" else Lex(escape)).process_word(word, env)


def process_words(word: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Expand, unquote and split on unquoted whitespace (EXPOSE, FROM args)."""
    return (_DEFAULT if escape == "\\" else Lex(escape)).process_words(word, env)


# --- which instruction parts the builder expands -----------------------------

def expand_command(command, env: Mapping[str, str], escape: str = "\\"):
    """A copy of a typed instruction with its expandable parts expanded.

    As BuildKit's dispatcher does, with env = the stage's ENV plus declared ARGs:
    ENV/LABEL keys and values, ADD/COPY sources, destination, --chown, --chmod
    (and ADD --checksum), heredoc bodies whose delimiter was not quoted (with
    quotes kept), WORKDIR, USER, VOLUME, STOPSIGNAL, EXPOSE (split into words).
    RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD are left
    as written (the shell does RUN's expansion). ARG defaults and FROM are
    expanded by the builder itself (expand_arg_default, expand_from).
    """
    import dataclasses

    from . import instructions as ins

    lex = Lex(escape)
    word = lambda text: lex.process_word(text, env)  # noqa: E731
    replace = dataclasses.replace
    if isinstance(command, (ins.Env, ins.Label)):
        pairs = [ins.KeyValue(word(p.key), word(p.value), p.no_delim) for p in command.pairs]
        return replace(command, pairs=pairs)
    if isinstance(command, (ins.Copy, ins.Add)):
        raw = Lex("\\", skip_process_quotes=True)
        contents = [ins.SourceContent(c.path, raw.process_word(c.data, env) if c.expand else c.data,
                                      c.expand) for c in command.contents]
        changes = dict(sources=[word(s) for s in command.sources], dest=word(command.dest),
                       chown=word(command.chown), chmod=word(command.chmod), contents=contents)
        if isinstance(command, ins.Add):
            changes["checksum"] = word(command.checksum)
        return replace(command, **changes)
    if isinstance(command, ins.Workdir):
        return replace(command, path=word(command.path))
    if isinstance(command, ins.User):
        return replace(command, user=word(command.user))
    if isinstance(command, ins.Volume):
        return replace(command, volumes=[word(v) for v in command.volumes])
    if isinstance(command, ins.StopSignal):
        return replace(command, signal=word(command.signal))
    if isinstance(command, ins.Expose):
        ports: list[str] = []
        for port in command.ports:
            ports += lex.process_words(port, env)
        return replace(command, ports=ports)
    return command


def expand_arg_default(value: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """An ARG default value, expanded against the stage's env (quotes removed)."""
    return Lex(escape).process_word(value, env)


def expand_from(base: str, meta_args: Mapping[str, str], escape: str = "\\") -> str:
    """A FROM image (or --platform) expanded with the ARGs declared before the first FROM."""
    result = Lex(escape).process_word(base, meta_args)
    if not result:
        raise ExpandError(f"base name ({base}) should not be blank")
    return result
