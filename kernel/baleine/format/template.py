"""A subset of Go's text/template, as `docker --format` uses it.

Supported: text, `{{ }}` actions with `{{-`/`-}}` trim markers, comments, fields `.A.B`,
`.`, variables (`$`, `$x := …`, `$x = …`), pipelines, parenthesised pipelines, literals
(Go strings, raw strings, chars, numbers, bools, nil), if/else if/else, range (lists, dicts
in sorted key order, ints, `{{else}}`, break/continue), with/else with, and the functions of
Go's text/template plus docker's (json split join title lower upper pad truncate).

parse() compiles once (cached); Template.execute() runs many times. Errors are
TemplateError carrying Go's message (`template: :1: function "x" not defined`, `template:
:1:2: executing "" at <.X>: …`); docker prints them after `template parsing error: `."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from . import gojson
from .gofmt import (NO_VALUE, sorted_items, format_value, go_quote, sprint, sprintf,
                    sprintln, type_name)


class TemplateError(Exception):
    """A template parse or execution error; str() is Go's message."""


class Row(dict):
    """One row of a list command, standing for docker's formatter context (a Go struct).

    Unlike a plain dict (a Go map), a missing field is an error, `{{json .}}` is
    HTML-escaped with sorted keys, and callable values are methods: called with the
    template's arguments (`{{.Label "k"}}`) or lazily with none (`{{.Size}}`)."""

    go_type = "*formatter.Context"

    def __init__(self, fields: dict, go_type: str | None = None):
        super().__init__(fields)
        if go_type:
            self.go_type = go_type

    def json_value(self) -> dict:
        # Only zero-argument methods appear in docker's JSON rows.
        import inspect

        out = {}
        for key, value in self.items():
            if callable(value):
                try:
                    inspect.signature(value).bind()
                except (TypeError, ValueError):
                    continue
                value = value()
            out[key] = value
        return out


class _Missing:
    """Marker for "no piped value" (Go's missingVal)."""


_NO_FINAL = _Missing()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _ExecError(Exception):
    def __init__(self, node: "_Node", msg: str):
        super().__init__(msg)
        self.node = node
        self.msg = msg


# ------------------------------------------------------------------------------ lexer

# token kinds
TEXT, LEFT, RIGHT, SPACE, FIELD, DOT, VAR, IDENT, KEYWORD, STRING, RAW, CHARC, NUMBER, \
    BOOL, NIL, PIPE, LPAREN, RPAREN, DECLARE, ASSIGN, CHAR, EOF = range(22)

_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block",
             "break", "continue"}
_SPACE = " \t\r\n"


class _Tok:
    __slots__ = ("kind", "val", "pos", "value")

    def __init__(self, kind: int, val: str, pos: int, value: Any = None):
        self.kind, self.val, self.pos, self.value = kind, val, pos, value

    def __str__(self) -> str:  # Go's item.String(), used in "unexpected …" messages
        if self.kind == EOF:
            return "EOF"
        if self.kind == KEYWORD:
            return "<" + self.val + ">"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


class _ParseError(Exception):
    def __init__(self, pos: int, msg: str):
        super().__init__(msg)
        self.pos, self.msg = pos, msg


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


_ESCAPE_CHARS = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                 "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def _unquote(body: str, quote: str, pos: int) -> str:
    """Decode the inside of a Go interpreted string or char literal."""
    if "\\" not in body:
        return body
    out, i, n = [], 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        e = body[i] if i < n else ""
        try:
            if e in _ESCAPE_CHARS and (e != "'" or quote == "'") and (e != '"' or quote == '"'):
                out.append(_ESCAPE_CHARS[e])
                i += 1
            elif e in "xuU":
                size = {"x": 2, "u": 4, "U": 8}[e]
                digits = body[i + 1:i + 1 + size]
                if len(digits) != size:
                    raise ValueError
                code = int(digits, 16)
                if e == "x":  # a byte; only valid ASCII makes sense in a Python str
                    out.append(chr(code) if code < 0x80 else "\ufffd")
                else:
                    out.append(chr(code))
                i += 1 + size
            elif e in "01234567":
                digits = body[i:i + 3]
                if len(digits) != 3 or any(d not in "01234567" for d in digits):
                    raise ValueError
                code = int(digits, 8)
                if code > 255:
                    raise ValueError
                out.append(chr(code) if code < 0x80 else "\ufffd")
                i += 3
            else:
                raise ValueError
        except ValueError:
            raise _ParseError(pos, "invalid syntax") from None
    return "".join(out)


def _number(text: str, pos: int) -> Any:
    t = text.replace("_", "")
    try:
        if t.lstrip("+-").lower().startswith(("0x", "0o", "0b")):
            return int(t, 0)
        if any(c in t for c in ".eE") or t.lower() in ("inf", "+inf", "-inf", "nan"):
            return float(t)
        body = t.lstrip("+-")
        if len(body) > 1 and body.startswith("0"):  # legacy octal 017
            return int(t[: len(t) - len(body)] + "0o" + body[1:], 0)
        return int(t, 10)
    except ValueError:
        raise _ParseError(pos, "bad number syntax: " + go_quote(text)) from None


def _lex(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    n = len(src)
    i = 0
    trim_next = False  # the previous action ended with -}}
    while True:
        j = src.find("{{", i)
        end = n if j < 0 else j
        text_start = i
        if trim_next:
            while text_start < end and src[text_start] in _SPACE:
                text_start += 1
        trim_left = j >= 0 and src.startswith("-", j + 2) and j + 3 < n and src[j + 3] in _SPACE
        text_end = end
        if trim_left:
            while text_end > text_start and src[text_end - 1] in _SPACE:
                text_end -= 1
        if text_end > text_start:
            toks.append(_Tok(TEXT, src[text_start:text_end], text_start))
        if j < 0:
            break
        p = j + (4 if trim_left else 2)
        # Comment: {{/* … */}}, only whitespace-trim markers around it.
        if src.startswith("/*", p):
            k = src.find("*/", p + 2)
            if k < 0:
                raise _ParseError(j, "unclosed comment")
            k += 2
            if src.startswith("}}", k):
                i, trim_next = k + 2, False
            elif k < n and src[k] in _SPACE and src.startswith("-}}", k + 1):
                i, trim_next = k + 4, True
            else:
                raise _ParseError(j, "comment ends before closing delimiter")
            continue
        toks.append(_Tok(LEFT, "{{", j))
        p, trim_next = _lex_action(src, p, toks)
        i = p
    toks.append(_Tok(EOF, "", n))
    return toks


def _lex_action(src: str, p: int, toks: list[_Tok]) -> tuple[int, bool]:
    """Lex inside one action; returns the position after `}}` and whether it trims."""
    n = len(src)
    depth = 0
    while True:
        if p >= n:
            raise _ParseError(p, "unclosed action")
        c = src[p]
        if src.startswith("}}", p):
            if depth:
                raise _ParseError(p, "unclosed left paren")
            toks.append(_Tok(RIGHT, "}}", p))
            return p + 2, False
        if c in _SPACE:
            q = p
            while q < n and src[q] in _SPACE:
                q += 1
            if src.startswith("-}}", q):  # " -}}": the last space belongs to the delimiter
                if q - 1 > p:
                    toks.append(_Tok(SPACE, src[p:q - 1], p))
                if depth:
                    raise _ParseError(q, "unclosed left paren")
                toks.append(_Tok(RIGHT, "-}}", q - 1))
                return q + 3, True
            toks.append(_Tok(SPACE, src[p:q], p))
            p = q
        elif c == "|":
            toks.append(_Tok(PIPE, c, p))
            p += 1
        elif c == "(":
            depth += 1
            toks.append(_Tok(LPAREN, c, p))
            p += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _ParseError(p, "unexpected right paren")
            toks.append(_Tok(RPAREN, c, p))
            p += 1
        elif c == ":":
            if not src.startswith(":=", p):
                raise _ParseError(p, "expected :=")
            toks.append(_Tok(DECLARE, ":=", p))
            p += 2
        elif c == "=":
            toks.append(_Tok(ASSIGN, c, p))
            p += 1
        elif c == '"':
            q = p + 1
            while True:
                if q >= n or src[q] == "\n":
                    raise _ParseError(p, "unterminated quoted string")
                if src[q] == "\\":
                    q += 2
                    continue
                if src[q] == '"':
                    break
                q += 1
            toks.append(_Tok(STRING, src[p:q + 1], p, _unquote(src[p + 1:q], '"', p)))
            p = q + 1
        elif c == "`":
            q = src.find("`", p + 1)
            if q < 0:
                raise _ParseError(p, "unterminated raw quoted string")
            toks.append(_Tok(RAW, src[p:q + 1], p, src[p + 1:q].replace("\r", "")))
            p = q + 1
        elif c == "'":
            q = p + 1
            while True:
                if q >= n or src[q] == "\n":
                    raise _ParseError(p, "unterminated character constant")
                if src[q] == "\\":
                    q += 2
                    continue
                if src[q] == "'":
                    break
                q += 1
            body = _unquote(src[p + 1:q], "'", p)
            if len(body) != 1:
                raise _ParseError(p, "malformed character constant: " + src[p:q + 1])
            toks.append(_Tok(CHARC, src[p:q + 1], p, ord(body)))
            p = q + 1
        elif c == "$":
            q = p + 1
            while q < n and _is_alnum(src[q]):
                q += 1
            toks.append(_Tok(VAR, src[p:q], p))
            p = q
        elif c == "." and not (p + 1 < n and src[p + 1].isdigit()):
            q = p + 1
            while q < n and _is_alnum(src[q]):
                q += 1
            toks.append(_Tok(FIELD if q > p + 1 else DOT, src[p:q], p))
            p = q
        elif c in "+-." or c.isdigit():
            q = p + 1
            while q < n and (_is_alnum(src[q]) or src[q] == "."
                             or (src[q] in "+-" and src[q - 1] in "eEpP")):
                q += 1
            text = src[p:q]
            toks.append(_Tok(NUMBER, text, p, _number(text, p)))
            p = q
        elif _is_alnum(c):
            q = p + 1
            while q < n and _is_alnum(src[q]):
                q += 1
            word = src[p:q]
            if word in _KEYWORDS:
                toks.append(_Tok(KEYWORD, word, p))
            elif word in ("true", "false"):
                toks.append(_Tok(BOOL, word, p, word == "true"))
            elif word == "nil":
                toks.append(_Tok(NIL, word, p))
            else:
                toks.append(_Tok(IDENT, word, p))
            p = q
            if p < n and not (src[p] in _SPACE or src[p] in ".,|:)(" or src.startswith("}}", p)):
                ch = src[p]
                raise _ParseError(p, "bad character U+%04X %s" % (ord(ch), _quote_char(ch)))
        elif c == ",":
            toks.append(_Tok(CHAR, c, p))
            p += 1
        elif c.isascii() and c.isprintable():
            toks.append(_Tok(CHAR, c, p))
            p += 1
        else:
            raise _ParseError(p, "bad character U+%04X %s" % (ord(c), _quote_char(c)))


def _quote_char(ch: str) -> str:
    return "'" + ch + "'" if ch.isprintable() else go_quote(ch).replace('"', "'")


# ------------------------------------------------------------------------------ nodes


class _Node:
    __slots__ = ("pos", "text")


class _Text(_Node):
    __slots__ = ("value",)

    def run(self, st: "_State", dot: Any) -> None:
        st.out.append(self.value)


class _Dot(_Node):
    __slots__ = ()

    def eval(self, st: "_State", dot: Any) -> Any:
        return dot


class _Literal(_Node):
    __slots__ = ("value",)

    def eval(self, st: "_State", dot: Any) -> Any:
        return self.value


class _Nil(_Node):
    __slots__ = ()

    def eval(self, st: "_State", dot: Any) -> Any:
        return None


class _Ident(_Node):
    __slots__ = ("name",)

    def eval(self, st: "_State", dot: Any) -> Any:
        # A function name used as an argument: call it with no arguments.
        return st.call(self, self.name, (), dot, _NO_FINAL, self)


class _Field(_Node):
    """`.A.B` on dot; `names` holds A, B."""

    __slots__ = ("names",)

    def eval(self, st: "_State", dot: Any, args: tuple = (), final: Any = _NO_FINAL) -> Any:
        return st.field_chain(self, dot, dot, self.names, args, final)


class _Variable(_Node):
    """`$x.A.B`; `names` holds A, B."""

    __slots__ = ("name", "names")

    def eval(self, st: "_State", dot: Any, args: tuple = (), final: Any = _NO_FINAL) -> Any:
        value = st.lookup(self.name)
        if not self.names:
            if args or final is not _NO_FINAL:
                raise _ExecError(self, "can't give argument to non-function " + self.text)
            return value
        return st.field_chain(self, dot, value, self.names, args, final)


class _Chain(_Node):
    """`(pipeline).A.B`."""

    __slots__ = ("node", "names")

    def eval(self, st: "_State", dot: Any, args: tuple = (), final: Any = _NO_FINAL) -> Any:
        value = self.node.eval(st, dot)
        return st.field_chain(self, dot, value, self.names, args, final)


class _Command(_Node):
    __slots__ = ("args",)

    def eval(self, st: "_State", dot: Any, final: Any) -> Any:
        first = self.args[0]
        rest = self.args[1:]
        if isinstance(first, (_Field, _Variable, _Chain)):
            return first.eval(st, dot, rest, final)
        if isinstance(first, _Ident):
            return st.call(first, first.name, rest, dot, final, self)
        if rest or final is not _NO_FINAL:
            raise _ExecError(first, "can't give argument to non-function " + first.text)
        return first.eval(st, dot)


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def eval(self, st: "_State", dot: Any) -> Any:
        value = _NO_FINAL
        for cmd in self.cmds:
            value = cmd.eval(st, dot, value)
        for name in self.decl:
            if self.is_assign:
                st.assign(name, value)
            else:
                st.vars.append([name, value])
        return value


class _Action(_Node):
    __slots__ = ("pipe",)

    def run(self, st: "_State", dot: Any) -> None:
        value = self.pipe.eval(st, dot)
        if not self.pipe.decl:
            st.out.append(value if type(value) is str else format_value(value))


class _Branch(_Node):
    """if / with / range."""

    __slots__ = ("kind", "pipe", "body", "else_body")

    def run(self, st: "_State", dot: Any) -> None:
        mark = len(st.vars)
        if self.kind == "range":
            self._range(st, dot)
        else:
            value = self.pipe.eval(st, dot)
            if truth(value):
                _run_list(self.body, st, value if self.kind == "with" else dot)
            elif self.else_body:
                _run_list(self.else_body, st, dot)
        del st.vars[mark:]

    def _range(self, st: "_State", dot: Any) -> None:
        pipe = self.pipe
        value = _NO_FINAL  # evaluate the pipeline; its variables are set per iteration
        for cmd in pipe.cmds:
            value = cmd.eval(st, dot, value)
        if isinstance(value, dict):
            items = sorted_items(value)
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(pipe.decl) > 1:
                raise _ExecError(self, "can't use %d to iterate over more than one variable"
                                 % value)
            items = [(k, k) for k in range(value)]
        elif value is None or value is NO_VALUE:
            items = []
        else:
            # Go reports it at the last node evaluated: the last command's first operand.
            raise _ExecError(pipe.cmds[-1].args[0],
                             "range can't iterate over " + format_value(value))
        if not items:
            if self.else_body:
                _run_list(self.else_body, st, dot)
            return
        mark = len(st.vars)
        decl = pipe.decl
        for key, elem in items:
            if decl:
                if pipe.is_assign:
                    st.assign(decl[0], elem if len(decl) == 1 else key)
                    if len(decl) > 1:
                        st.assign(decl[1], elem)
                elif len(decl) == 1:
                    st.vars.append([decl[0], elem])
                else:
                    st.vars.append([decl[0], key])
                    st.vars.append([decl[1], elem])
            try:
                _run_list(self.body, st, elem)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del st.vars[mark:]


class _Jump(_Node):
    __slots__ = ("exc",)

    def run(self, st: "_State", dot: Any) -> None:
        raise self.exc()


def _run_list(nodes: list, st: "_State", dot: Any) -> None:
    for node in nodes:
        node.run(st, dot)


def _new(cls, pos: int, text: str, **attrs):
    node = cls.__new__(cls)
    node.pos, node.text = pos, text
    for key, value in attrs.items():
        setattr(node, key, value)
    return node


# ------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, src: str, funcs: dict):
        self.src = src
        self.toks = _lex(src)
        self.i = 0
        self.funcs = funcs
        self.vars = ["$"]
        self.range_depth = 0

    # token helpers
    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next_non_space(self) -> _Tok:
        tok = self.next()
        while tok.kind == SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> _Tok:
        tok = self.next_non_space()
        self.backup()
        return tok

    def error(self, pos: int, msg: str):
        raise _ParseError(pos, msg)

    def unexpected(self, tok: _Tok, context: str):
        if tok.kind == EOF:
            self.error(tok.pos, "unclosed action" if context != "input" else "unexpected EOF")
        self.error(tok.pos, "unexpected %s in %s" % (tok, context))

    # grammar
    def parse(self) -> list:
        nodes, stop = self.item_list(top=True)
        return nodes

    def item_list(self, top: bool = False) -> tuple[list, str]:
        """Parse until {{end}}/{{else}} (returns which) or EOF at top level."""
        nodes: list = []
        while True:
            tok = self.next()
            if tok.kind == EOF:
                if not top:
                    self.error(tok.pos, "unexpected EOF")
                return nodes, "eof"
            if tok.kind == TEXT:
                nodes.append(_new(_Text, tok.pos, tok.val, value=tok.val))
                continue
            # LEFT
            kw = self.next_non_space()
            if kw.kind == KEYWORD:
                word = kw.val
                if word in ("end", "else"):
                    if top:
                        self.error(kw.pos, "unexpected {{%s}}" % word)
                    return nodes, word
                if word in ("if", "with", "range"):
                    nodes.append(self.control(word, kw.pos))
                    continue
                if word in ("break", "continue"):
                    if not self.range_depth:
                        self.error(kw.pos, "{{%s}} outside {{range}}" % word)
                    self.expect_right(word)
                    nodes.append(_new(_Jump, kw.pos, word,
                                      exc=_Break if word == "break" else _Continue))
                    continue
                self.error(kw.pos, "{{%s}} is not supported" % word)
            self.backup()
            start = self.peek().pos
            pipe = self.pipeline("command", RIGHT)
            nodes.append(_new(_Action, start, self.src[start:self.toks[self.i - 1].pos],
                              pipe=pipe))

    def expect_right(self, context: str) -> None:
        tok = self.next_non_space()
        if tok.kind != RIGHT:
            self.unexpected(tok, context)

    def control(self, kind: str, pos: int) -> _Branch:
        mark = len(self.vars)
        pipe = self.pipeline(kind, RIGHT)
        if kind == "range":
            self.range_depth += 1
        body, stop = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body: list = []
        if stop == "else":
            # {{else if …}} / {{else with …}} chain into a nested node sharing our {{end}}
            nxt = self.peek_non_space()
            if kind != "range" and nxt.kind == KEYWORD and nxt.val == kind:
                self.next_non_space()
                else_body = [self.control(kind, nxt.pos)]
                del self.vars[mark:]
                return _new(_Branch, pos, kind, kind=kind, pipe=pipe, body=body,
                            else_body=else_body)
            self.expect_right("else")
            else_body, stop = self.item_list()
            if stop != "end":
                self.error(self.toks[self.i - 1].pos, "expected end; found {{else}}")
        self.expect_right("end")
        del self.vars[mark:]
        return _new(_Branch, pos, kind, kind=kind, pipe=pipe, body=body, else_body=else_body)

    def pipeline(self, context: str, end: int) -> _Pipe:
        start = self.peek_non_space().pos
        decl: list[str] = []
        is_assign = False
        # Declarations: `$x :=`, `$x =`, and in range `$i, $v :=`.
        tok = self.peek_non_space()
        if tok.kind == VAR:
            save = self.i
            self.next_non_space()
            after = self.peek_non_space()
            if after.kind in (DECLARE, ASSIGN):
                self.next_non_space()
                decl, is_assign = [tok.val], after.kind == ASSIGN
            elif after.kind == CHAR and after.val == "," and context == "range":
                self.next_non_space()
                second = self.next_non_space()
                op = self.next_non_space()
                if second.kind != VAR or op.kind not in (DECLARE, ASSIGN):
                    self.error(second.pos, "range can only initialize variables")
                decl, is_assign = [tok.val, second.val], op.kind == ASSIGN
            else:
                self.i = save
            for name in decl:
                if is_assign:
                    if name not in self.vars:
                        self.error(tok.pos, "undefined variable %s" % go_quote(name))
                else:
                    self.vars.append(name)
        cmds: list[_Command] = []
        while True:
            tok = self.next_non_space()
            if tok.kind == end:
                break
            if tok.kind in (BOOL, CHARC, DOT, FIELD, IDENT, NUMBER, NIL, RAW, STRING, VAR,
                            LPAREN):
                self.backup()
                cmds.append(self.command(end))
            else:
                self.unexpected(tok, context)
        if not cmds:
            self.error(tok.pos, "missing value for %s" % context)
        for k, cmd in enumerate(cmds[1:]):
            if isinstance(cmd.args[0], (_Literal, _Dot, _Nil)):
                self.error(cmd.pos, "non executable command in pipeline stage %d" % (k + 2))
        return _new(_Pipe, start, self.src[start:tok.pos].strip(), decl=decl,
                    is_assign=is_assign, cmds=cmds)

    def command(self, end: int) -> _Command:
        start = self.peek_non_space().pos
        args: list = []
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                args.append(operand)
            tok = self.next()
            if tok.kind == SPACE:
                continue
            if tok.kind in (RIGHT, RPAREN):
                self.backup()
            elif tok.kind != PIPE:
                self.unexpected(tok, "operand")
            break
        if not args:
            self.error(tok.pos, "empty command")
        stop = self.peek().pos if tok.kind != PIPE else tok.pos
        return _new(_Command, start, self.src[start:stop].strip(), args=args)

    def operand(self):
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == FIELD:
            names = []
            while self.peek().kind == FIELD:
                names.append(self.next().val[1:])
            end = self.toks[self.i - 1]
            text = self.src[node.pos:end.pos + len(end.val)]
            if isinstance(node, _Field):
                return _new(_Field, node.pos, text, names=node.names + names)
            if isinstance(node, _Variable):
                return _new(_Variable, node.pos, text, name=node.name, names=names)
            if isinstance(node, (_Literal, _Nil, _Dot)):
                self.error(node.pos, "unexpected . after term %s" % go_quote(node.text))
            return _new(_Chain, node.pos, text, node=node, names=names)
        return node

    def term(self):
        tok = self.next_non_space()
        k = tok.kind
        if k == IDENT:
            if tok.val not in self.funcs:
                self.error(tok.pos, "function %s not defined" % go_quote(tok.val))
            return _new(_Ident, tok.pos, tok.val, name=tok.val)
        if k == DOT:
            return _new(_Dot, tok.pos, ".")
        if k == NIL:
            return _new(_Nil, tok.pos, "nil")
        if k == VAR:
            if tok.val not in self.vars:
                self.error(tok.pos, "undefined variable %s" % go_quote(tok.val))
            return _new(_Variable, tok.pos, tok.val, name=tok.val, names=[])
        if k == FIELD:
            return _new(_Field, tok.pos, tok.val, names=[tok.val[1:]])
        if k in (BOOL, NUMBER, CHARC, STRING, RAW):
            return _new(_Literal, tok.pos, tok.val, value=tok.value)
        if k == LPAREN:
            pipe = self.pipeline("parenthesized pipeline", RPAREN)
            close = self.toks[self.i - 1]
            pipe.text = self.src[tok.pos:close.pos + 1]
            pipe.pos = tok.pos
            return pipe
        self.backup()
        return None


# ------------------------------------------------------------------------------ execution


def truth(v: Any) -> bool:
    """Go template truthiness: empty/zero values and nil are false."""
    if v is None or v is NO_VALUE:
        return False
    if isinstance(v, (str, list, tuple, dict)):
        return len(v) > 0 if not isinstance(v, Row) else True
    if isinstance(v, (bool, int, float)):
        return bool(v)
    return True


class _State:
    __slots__ = ("out", "vars", "funcs")

    def __init__(self, data: Any, funcs: dict):
        self.out: list[str] = []
        self.vars: list[list] = [["$", data]]
        self.funcs = funcs

    def lookup(self, name: str) -> Any:
        for k in range(len(self.vars) - 1, -1, -1):
            if self.vars[k][0] == name:
                return self.vars[k][1]
        raise TemplateError("undefined variable: " + name)

    def assign(self, name: str, value: Any) -> None:
        for k in range(len(self.vars) - 1, -1, -1):
            if self.vars[k][0] == name:
                self.vars[k][1] = value
                return
        raise TemplateError("undefined variable: " + name)

    def field_chain(self, node: _Node, dot: Any, receiver: Any, names: list, args: tuple,
                    final: Any) -> Any:
        last = len(names) - 1
        for k, name in enumerate(names):
            if k < last:
                receiver = self.field(node, dot, receiver, name, (), _NO_FINAL)
            else:
                receiver = self.field(node, dot, receiver, name, args, final)
        return receiver

    def field(self, node: _Node, dot: Any, receiver: Any, name: str, args: tuple,
              final: Any) -> Any:
        has_args = bool(args) or final is not _NO_FINAL
        if isinstance(receiver, Row):
            if name not in receiver:
                raise _ExecError(node, "can't evaluate field %s in type %s"
                                 % (name, receiver.go_type))
            value = receiver[name]
            if callable(value):
                argv = [a.eval(self, dot) for a in args]
                if final is not _NO_FINAL:
                    argv.append(final)
                try:
                    return value(*argv)
                except TypeError as e:
                    raise _ExecError(node, "wrong number of args for %s: %s" % (name, e))
            if has_args:
                raise _ExecError(node, "%s has arguments but cannot be invoked as function"
                                 % name)
            return value
        if isinstance(receiver, dict):
            if has_args:
                raise _ExecError(node, "%s is not a method but has arguments" % name)
            return receiver.get(name, NO_VALUE)
        if receiver is NO_VALUE:
            return NO_VALUE  # Go: a field of a missing map entry is still "no value"
        if receiver is None:
            raise _ExecError(node, "nil pointer evaluating interface {}.%s" % name)
        raise _ExecError(node, "can't evaluate field %s in type %s"
                         % (name, type_name(receiver)))

    def call(self, ident: _Node, name: str, args: tuple, dot: Any, final: Any,
             cmd: _Node) -> Any:
        if name in ("and", "or"):  # short-circuit, return the deciding operand
            operands = list(args) + ([final] if final is not _NO_FINAL else [])
            if not operands:
                raise _ExecError(cmd, "wrong number of args for %s: want at least 1 got 0"
                                 % name)
            value = None
            for k, a in enumerate(operands):
                value = a if (final is not _NO_FINAL and k == len(operands) - 1) \
                    else a.eval(self, dot)
                if truth(value) != (name == "and"):
                    return value
            return value
        spec = self.funcs[name]
        fn, lo, hi = spec
        argv = [a.eval(self, dot) for a in args]
        if final is not _NO_FINAL:
            argv.append(final)
        if len(argv) < lo or (hi is not None and len(argv) > hi):
            if hi is None:
                msg = "want at least %d got %d" % (lo, len(argv))
            else:
                msg = "want %d got %d" % (lo, len(argv))
            raise _ExecError(ident, "wrong number of args for %s: %s" % (name, msg))
        try:
            return fn(*argv)
        except _FuncError as e:
            raise _ExecError(cmd, "error calling %s: %s" % (name, e)) from None
        except _ArgError as e:
            # Go checks argument types while evaluating each one: report at that operand.
            node = args[e.index] if e.index < len(args) else cmd
            raise _ExecError(node, e.msg) from None


class _FuncError(Exception):
    """An error returned by a template function (reported as `error calling f: …`)."""


class _ArgError(Exception):
    """A wrong argument type (reported as Go's `wrong type for value; …`)."""

    def __init__(self, msg: str, index: int):
        super().__init__(msg)
        self.msg, self.index = msg, index


# ------------------------------------------------------------------------------ functions


def _want_str(v: Any, index: int = 0) -> str:
    if isinstance(v, str):
        return v
    if v is NO_VALUE:
        raise _ArgError("invalid value; expected string", index)
    raise _ArgError("wrong type for value; expected string; got %s" % type_name(v), index)


def _want_int(v: Any, index: int) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if v is NO_VALUE:
        raise _ArgError("invalid value; expected int", index)
    raise _ArgError("wrong type for value; expected int; got %s" % type_name(v), index)


def _json(v: Any) -> str:
    # docker's json function never HTML-escapes; a row context escapes itself (§0.4).
    if isinstance(v, Row):
        return gojson.dumps(v.json_value(), escape_html=True, sort_keys=True)
    return gojson.dumps(v, escape_html=False)


def _split(s: Any, sep: Any) -> list:
    s, sep = _want_str(s), _want_str(sep, 1)
    if sep == "":
        return list(s)
    return s.split(sep)


def _join(items: Any, sep: Any) -> str:
    sep = _want_str(sep, 1)
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, str) for x in items):
        raise _ArgError("wrong type for value; expected []string; got %s" % type_name(items), 0)
    return sep.join(items)


def _title(s: Any) -> str:
    # strings.Title: upper-case the first letter of each word, leave the rest unchanged.
    s = _want_str(s)
    out, prev_sep = [], True
    for ch in s:
        out.append(ch.upper() if prev_sep else ch)
        if ch.isascii():
            prev_sep = not (ch.isalnum() or ch == "_")
        else:
            prev_sep = ch.isspace()
    return "".join(out)


def _pad(s: Any, left: Any, right: Any) -> str:
    s = _want_str(s)
    if s == "":
        return s
    return " " * _want_int(left, 1) + s + " " * _want_int(right, 2)


def _truncate(s: Any, n: Any) -> str:
    # A byte prefix, as docker does; a cut UTF-8 sequence is dropped.
    s, n = _want_str(s), _want_int(n, 1)
    b = s.encode("utf-8")
    if len(b) < n:
        return s
    return b[:max(n, 0)].decode("utf-8", "ignore")


def _len(v: Any) -> int:
    if isinstance(v, str):
        return len(v.encode("utf-8"))
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    if v is None or v is NO_VALUE:
        raise _FuncError("len of nil pointer")
    raise _FuncError("len of type %s" % type_name(v))


def _index_one(item: Any, key: Any) -> Any:
    if isinstance(item, dict):
        if isinstance(item, Row):
            return item.get(key, NO_VALUE)
        if not isinstance(key, str) and any(isinstance(k, str) for k in item):
            raise _FuncError("value has type %s; should be string" % type_name(key))
        return item.get(key, NO_VALUE)
    if isinstance(item, (list, tuple, str)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise _FuncError("cannot index slice/array with type %s" % type_name(key))
        seq = item.encode("utf-8") if isinstance(item, str) else item
        if key < 0 or key >= len(seq):
            raise _FuncError("index out of range: %d" % key)
        return seq[key]
    if item is None or item is NO_VALUE:
        raise _FuncError("index of untyped nil")
    raise _FuncError("can't index item of type %s" % type_name(item))


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        item = _index_one(item, key)
    return item


def _slice(item: Any, *idx: Any) -> Any:
    if item is None or item is NO_VALUE:
        raise _FuncError("slice of untyped nil")
    if len(idx) > 3:
        raise _FuncError("too many slice indexes: %d" % len(idx))
    if isinstance(item, str):
        if len(idx) == 3:
            raise _FuncError("cannot 3-index slice a string")
        seq: Any = item.encode("utf-8")
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise _FuncError("can't slice item of type %s" % type_name(item))
    bounds = []
    for k in idx:
        if not isinstance(k, int) or isinstance(k, bool):
            raise _FuncError("cannot index slice/array with type %s" % type_name(k))
        bounds.append(k)
    lo = bounds[0] if bounds else 0
    hi = bounds[1] if len(bounds) > 1 else len(seq)
    cap = bounds[2] if len(bounds) > 2 else len(seq)
    if lo < 0 or hi < lo or hi > len(seq) or (len(bounds) > 2 and (cap < hi or cap > len(seq))):
        raise _FuncError("index out of range: %d" % (hi if hi > len(seq) or hi < lo else lo))
    out = seq[lo:hi]
    return out.decode("utf-8", "ignore") if isinstance(item, str) else list(out)


_INT, _FLOAT, _STR, _BOOL = "int", "float", "string", "bool"


def _basic_kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return _BOOL
    if isinstance(v, int):
        return _INT
    if isinstance(v, float):
        return _FLOAT
    if isinstance(v, str):
        return _STR
    return None


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise _FuncError("missing argument for comparison")
    ka = _basic_kind(a)
    for b in others:
        kb = _basic_kind(b)
        if ka is None or kb is None:
            nil_a = a is None or a is NO_VALUE
            nil_b = b is None or b is NO_VALUE
            if nil_a or nil_b:
                if nil_a and nil_b:
                    return True
                continue
            raise _FuncError("invalid type for comparison")
        if ka != kb and not ({ka, kb} <= {_INT, _FLOAT}):
            raise _FuncError("incompatible types for comparison")
        if a == b:
            return True
    return False


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _lt(a: Any, b: Any) -> bool:
    ka, kb = _basic_kind(a), _basic_kind(b)
    if ka is None or kb is None or ka == _BOOL or kb == _BOOL:
        raise _FuncError("invalid type for comparison")
    if ka != kb and not ({ka, kb} <= {_INT, _FLOAT}):
        raise _FuncError("incompatible types for comparison")
    return a < b


def _le(a: Any, b: Any) -> bool:
    return _lt(a, b) or _eq(a, b)


def _gt(a: Any, b: Any) -> bool:
    return not _le(a, b)


def _ge(a: Any, b: Any) -> bool:
    return not _lt(a, b)


def _printf(fmt: Any, *args: Any) -> str:
    return sprintf(_want_str(fmt), list(args))


def _html(*args: Any) -> str:
    s = sprint(list(args))
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\0", "\ufffd"))


def _urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus

    return quote_plus(sprint(list(args)), safe="")


def _header_text(v: Any, *_ignored: Any) -> str:
    # docker's header functions take a string: `{{json .}}` on the header map fails.
    return _want_str(v)


# name -> (function, min args, max args or None for variadic)
FUNCS: dict[str, tuple[Callable, int, int | None]] = {
    # Go text/template builtins (and/or are evaluated lazily by the executor)
    "and": (None, 1, None), "or": (None, 1, None),
    "not": (lambda v: not truth(v), 1, 1),
    "len": (_len, 1, 1),
    "index": (_index, 1, None),
    "slice": (_slice, 1, None),
    "print": (lambda *a: sprint(list(a)), 0, None),
    "printf": (_printf, 1, None),
    "println": (lambda *a: sprintln(list(a)), 0, None),
    "eq": (_eq, 1, None), "ne": (_ne, 2, 2),
    "lt": (_lt, 2, 2), "le": (_le, 2, 2), "gt": (_gt, 2, 2), "ge": (_ge, 2, 2),
    "html": (_html, 0, None),
    "urlquery": (_urlquery, 0, None),
    # docker's additions (cli/templates)
    "json": (_json, 1, 1),
    "split": (_split, 2, 2),
    "join": (_join, 2, 2),
    "title": (_title, 1, 1),
    "lower": (lambda s: _want_str(s).lower(), 1, 1),
    "upper": (lambda s: _want_str(s).upper(), 1, 1),
    "pad": (_pad, 3, 3),
    "truncate": (_truncate, 2, 2),
}

# For table headers docker swaps these for functions returning the header text (§0.2).
HEADER_FUNCS = dict(FUNCS)
HEADER_FUNCS.update({
    "json": (_header_text, 1, 1), "title": (_header_text, 1, 1),
    "lower": (_header_text, 1, 1), "upper": (_header_text, 1, 1),
    "split": (_header_text, 2, 2), "join": (_header_text, 2, 2),
    "truncate": (_header_text, 2, 2),
})


# ------------------------------------------------------------------------------ API


class Template:
    """A compiled template; execute() may be called any number of times."""

    def __init__(self, source: str, name: str = ""):
        self.source = source
        self.name = name
        try:
            self._nodes = _Parser(source, FUNCS).parse()
        except _ParseError as e:
            line = source.count("\n", 0, e.pos) + 1
            raise TemplateError("template: %s:%d: %s" % (name, line, e.msg)) from None

    def execute(self, data: Any, funcs: dict | None = None) -> str:
        st = _State(data, funcs or FUNCS)
        try:
            _run_list(self._nodes, st, data)
        except _ExecError as e:
            raise TemplateError(self._exec_message(e)) from None
        return "".join(st.out)

    def execute_partial(self, data: Any, funcs: dict | None = None) -> str:
        """Execute, returning what was written before any error (docker's header rule)."""
        st = _State(data, funcs or FUNCS)
        try:
            _run_list(self._nodes, st, data)
        except (_ExecError, TemplateError):
            pass
        return "".join(st.out)

    def _exec_message(self, e: _ExecError) -> str:
        pos = e.node.pos
        line_start = self.source.rfind("\n", 0, pos) + 1
        line = self.source.count("\n", 0, pos) + 1
        col = len(self.source[line_start:pos].encode("utf-8"))
        return 'template: %s:%d:%d: executing "%s" at <%s>: %s' % (
            self.name, line, col, self.name, e.node.text, e.msg)


@lru_cache(maxsize=256)
def parse(source: str) -> Template:
    """Compile a template (cached: the same format string is compiled once)."""
    return Template(source)


def render(source: str, data: Any) -> str:
    """Compile (cached) and execute in one call."""
    return parse(source).execute(data)
