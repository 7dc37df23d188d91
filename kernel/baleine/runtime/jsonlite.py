"""JSON without importing `json`: the json package pulls in `re` and `enum`, a few
milliseconds that every `run` would pay.  Uses CPython's C scanner directly; the
writer handles the types our config/state files hold."""

try:
    import _json
except ImportError:  # pragma: no cover - not CPython
    _json = None


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name):
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_scan = _json.make_scanner(_Context()) if _json is not None else None
_WS = " \t\n\r"


def loads(text):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8-sig")
    if _scan is None:
        import json
        return json.loads(text)
    start = 0
    while start < len(text) and text[start] in _WS:
        start += 1
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"invalid JSON at character {exc.value}") from None
    while end < len(text) and text[end] in _WS:
        end += 1
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return value


def dumps(value) -> str:
    parts: list[str] = []
    _dump(value, parts)
    return "".join(parts)


def _dump(value, out: list) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_json.encode_basestring_ascii(value) if _json else repr(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(", ")
            _dump(str(k), out)
            out.append(": ")
            _dump(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(", ")
            _dump(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")
