"""Go encoding/json output: compact (json.Marshal / Encoder) and indented (MarshalIndent).

Dict keys keep their insertion order unless sort_keys is set: inspect objects stand for Go
structs, whose fields print in declaration order; Go maps print sorted."""

from __future__ import annotations

from .gofmt import NO_VALUE, format_float_json

_ESCAPES = {i: "\\u%04x" % i for i in range(0x20)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r",
                 ord('"'): '\\"', ord("\\"): "\\\\",
                 0x2028: "\\u2028", 0x2029: "\\u2029"})  # Go always escapes these two
_HTML_ESCAPES = dict(_ESCAPES)
_HTML_ESCAPES.update({ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"})


def encode_string(s: str, escape_html: bool = True) -> str:
    out = s.translate(_HTML_ESCAPES if escape_html else _ESCAPES)
    if not out.isascii():
        try:
            out.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: invalid UTF-8 becomes U+FFFD in Go
            out = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in out)
    return '"' + out + '"'


def _encode(v: object, html: bool, sort_keys: bool, indent: str | None,
            level: int, out: list[str]) -> None:
    if isinstance(v, str):
        out.append(encode_string(v, html))
    elif v is None or v is NO_VALUE:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        text = format_float_json(v)
        if text in ("NaN", "+Inf", "-Inf"):
            from .template import TemplateError

            raise TemplateError("json: unsupported value: " + text)
        out.append(text)
    elif isinstance(v, dict):
        if not v:
            out.append("{}")
            return
        items = list(v.items())
        if sort_keys:
            items.sort(key=lambda kv: str(kv[0]))
        if indent is None:
            out.append("{")
            for k, (key, x) in enumerate(items):
                if k:
                    out.append(",")
                out.append(encode_string(str(key), html))
                out.append(":")
                _encode(x, html, sort_keys, None, 0, out)
            out.append("}")
        else:
            inner = "\n" + indent * (level + 1)
            out.append("{")
            for k, (key, x) in enumerate(items):
                out.append("," + inner if k else inner)
                out.append(encode_string(str(key), html))
                out.append(": ")
                _encode(x, html, sort_keys, indent, level + 1, out)
            out.append("\n" + indent * level + "}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[]")
            return
        if indent is None:
            out.append("[")
            for k, x in enumerate(v):
                if k:
                    out.append(",")
                _encode(x, html, sort_keys, None, 0, out)
            out.append("]")
        else:
            inner = "\n" + indent * (level + 1)
            out.append("[")
            for k, x in enumerate(v):
                out.append("," + inner if k else inner)
                _encode(x, html, sort_keys, indent, level + 1, out)
            out.append("\n" + indent * level + "]")
    else:
        to_json = getattr(v, "json_value", None)  # e.g. template Row
        if to_json is not None:
            _encode(to_json(), html, sort_keys, indent, level, out)
        else:
            out.append(encode_string(str(v), html))


def dumps(value: object, *, escape_html: bool = True, sort_keys: bool = False,
          indent: str | None = None) -> str:
    """Serialise like Go: compact by default, or MarshalIndent(v, "", indent)."""
    out: list[str] = []
    _encode(value, escape_html, sort_keys, indent, 0, out)
    return "".join(out)
