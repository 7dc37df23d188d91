"""Go's fmt printing of template values: %v, strconv.Quote and a printf subset.

Python values stand for Go values: str=string, int=int, float=float64, bool, None=nil,
list/tuple=[]interface {}, dict=map[string]interface {}. NO_VALUE is the invalid value a
template gets from a missing map key (printed `<no value>`)."""

from __future__ import annotations


class _NoValue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE = _NoValue()


def type_name(v: object) -> str:
    """The Go type a Python value stands for, as Go error messages spell it."""
    if v is None or v is NO_VALUE:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    go_type = getattr(v, "go_type", None)  # Row: a docker formatter context
    if go_type:
        return go_type
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return type(v).__name__


def sorted_items(d: dict) -> list:
    # Go prints maps with sorted keys; mixed key types fall back to their text.
    try:
        return sorted(d.items())
    except TypeError:
        return sorted(d.items(), key=lambda kv: str(kv[0]))


def _float_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of |f| > 0 and the decimal point position."""
    from decimal import Decimal

    sign, digits, exp = Decimal(repr(abs(f))).normalize().as_tuple()
    ds = "".join(map(str, digits))
    return ds, len(ds) + exp


def _exp_form(ds: str, dp: int) -> str:
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    e = dp - 1
    return "%se%s%02d" % (mant, "-" if e < 0 else "+", abs(e))


def _fixed_form(ds: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + ds
    if dp >= len(ds):
        return ds + "0" * (dp - len(ds))
    return ds[:dp] + "." + ds[dp:]


def _special_float(f: float) -> str | None:
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    return None


def format_float_v(f: float) -> str:
    """Go's %v for float64 (strconv 'g', -1): shortest digits, exponent when exp < -4 or >= 6."""
    special = _special_float(f)
    if special is not None:
        return special
    ds, dp = _float_digits(f)
    e = dp - 1
    text = _exp_form(ds, dp) if e < -4 or e >= 6 else _fixed_form(ds, dp)
    return ("-" if f < 0 else "") + text


def format_float_json(f: float) -> str:
    """encoding/json float64: like %v but 'e' only below 1e-6 or from 1e21, e-07 → e-7."""
    special = _special_float(f)
    if special is not None:
        return special
    ds, dp = _float_digits(f)
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        text = _exp_form(ds, dp)
        if text[-3:-1] == "-0":
            text = text[:-2] + text[-1]
    else:
        text = _fixed_form(ds, dp)
    return ("-" if f < 0 else "") + text


def format_value(v: object) -> str:
    """Go's fmt %v (what `{{.X}}` prints)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "<nil>"
    if v is NO_VALUE:
        return "<no value>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float_v(v)
    if isinstance(v, dict):
        return "map[" + " ".join(
            format_value(k) + ":" + format_value(x) for k, x in sorted_items(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(format_value(x) for x in v) + "]"
    return str(v)


_QUOTE_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
              "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """strconv.Quote: double-quoted, Go escapes, printable Unicode kept as is."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        esc = _QUOTE_ESC.get(ch)
        if esc:
            out.append(esc)
        elif ch.isprintable():
            out.append(ch)
        else:
            o = ord(ch)
            if o < 0x20 or o == 0x7F:
                out.append("\\x%02x" % o)
            elif 0xD800 <= o < 0xE000:  # lone surrogate: invalid rune
                out.append("\\ufffd")
            elif o < 0x10000:
                out.append("\\u%04x" % o)
            else:
                out.append("\\U%08x" % o)
    out.append('"')
    return "".join(out)


def _quote_rune(n: int) -> str:
    if n == 0x27:
        return "'\\''"
    try:
        ch = chr(n)
    except (ValueError, OverflowError):
        ch = "\ufffd"
    return "'" + go_quote(ch)[1:-1].replace('\\"', '"') + "'"


# ---------------------------------------------------------------- printf


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "prec", "verb")


def _bad(verb: str, v: object) -> str:
    if v is None or v is NO_VALUE:
        return "%!" + verb + "(<nil>)"
    return "%!" + verb + "(" + type_name(v) + "=" + format_value(v) + ")"


def _pad(s: str, spec: _Spec, numeric: bool = False) -> str:
    w = spec.width
    if w is None or len(s) >= w:
        return s
    if spec.minus:
        return s + " " * (w - len(s))
    if spec.zero and numeric:
        sign = s[0] if s[:1] in ("-", "+", " ") else ""
        return sign + "0" * (w - len(s)) + s[len(sign):]
    return " " * (w - len(s)) + s


def _fmt_int(n: int, spec: _Spec, verb: str) -> str:
    if verb == "c":
        try:
            return _pad(chr(n), spec)
        except (ValueError, OverflowError):
            return _pad("\ufffd", spec)
    if verb == "q":
        return _pad(_quote_rune(n), spec)
    if verb == "U":
        return _pad("U+%04X" % n if n >= 0 else "U+" + "%04X" % n, spec)
    base = {"d": "d", "v": "d", "x": "x", "X": "X", "o": "o", "O": "o", "b": "b"}[verb]
    digits = format(abs(n), base)
    if spec.prec is not None:
        digits = digits.rjust(spec.prec, "0") if spec.prec else (digits if n else "")
    if spec.sharp and verb in ("x", "X"):
        digits = ("0x" if verb == "x" else "0X") + digits
    elif verb == "O" or (spec.sharp and verb == "o" and not digits.startswith("0")):
        digits = ("0o" if verb == "O" else "0") + digits
    elif spec.sharp and verb == "b":
        digits = "0b" + digits
    sign = "-" if n < 0 else "+" if spec.plus else " " if spec.space else ""
    # Go ignores the 0 flag when a precision is given.
    return _pad(sign + digits, spec, numeric=spec.prec is None)


def _fmt_float(f: float, spec: _Spec, verb: str) -> str:
    special = _special_float(f)
    if special is not None and f != 0:
        s = special if special != "+Inf" or spec.plus else "Inf"
        return _pad(s, spec)
    if verb == "v" or (verb in "gG" and spec.prec is None):
        s = format_float_v(f)
        if verb == "G":
            s = s.upper()
        if spec.plus and not s.startswith("-"):
            s = "+" + s
        return _pad(s, spec, numeric=True)
    prec = 6 if spec.prec is None else spec.prec
    flags = ("+" if spec.plus else " " if spec.space else "") + ("#" if spec.sharp else "")
    py_verb = "f" if verb == "F" else verb
    return _pad(("%" + flags + "." + str(prec) + py_verb) % f, spec, numeric=True)


def _fmt_str(s: str, spec: _Spec, verb: str) -> str:
    if spec.prec is not None:
        s = s[: spec.prec]
    if verb in ("s", "v"):
        return _pad(s, spec)
    if verb == "q":
        if spec.sharp and "`" not in s and s.isprintable():
            return _pad("`" + s + "`", spec)
        return _pad(go_quote(s), spec)
    if verb in ("x", "X"):
        h = s.encode("utf-8", "surrogatepass").hex()
        if verb == "X":
            h = h.upper()
        if spec.space:
            h = " ".join(h[i:i + 2] for i in range(0, len(h), 2))
        return _pad(h, spec)
    return _bad(verb, s)


def format_arg(v: object, spec: _Spec, verb: str) -> str:
    """Format one printf operand with a parsed verb, Go-style (bad types → %!v(T=x))."""
    if v is NO_VALUE:
        v = None
    if verb == "T":
        return _pad(type_name(v), spec)
    if isinstance(v, str):
        return _fmt_str(v, spec, verb)
    if isinstance(v, bool):
        if verb in ("t", "v"):
            return _pad("true" if v else "false", spec)
        return _bad(verb, v)
    if isinstance(v, int):
        if verb in "dvxXoObcqU":
            return _fmt_int(v, spec, verb)
        return _bad(verb, v)
    if isinstance(v, float):
        if verb in "veEfFgG":
            return _fmt_float(v, spec, verb)
        return _bad(verb, v)
    if v is None:
        return _pad("<nil>", spec) if verb == "v" else _bad(verb, v)
    if isinstance(v, dict):
        inner = " ".join(format_arg(k, spec, verb) + ":" + format_arg(x, spec, verb)
                         for k, x in sorted_items(v))
        return "map[" + inner + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(format_arg(x, spec, verb) for x in v) + "]"
    return _pad(str(v), spec) if verb in ("v", "s") else _bad(verb, v)


def sprintf(fmt: str, args: list) -> str:
    """fmt.Sprintf for the verbs templates use (%v %s %d %q %t %x %f %e %g %c %T …)."""
    out: list[str] = []
    i, n, argi = 0, len(fmt), 0
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        spec = _Spec()
        spec.minus = spec.plus = spec.sharp = spec.space = spec.zero = False
        spec.width = spec.prec = None
        while i < n and fmt[i] in "-+# 0":
            c = fmt[i]
            if c == "-":
                spec.minus = True
            elif c == "+":
                spec.plus = True
            elif c == "#":
                spec.sharp = True
            elif c == " ":
                spec.space = True
            else:
                spec.zero = True
            i += 1
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int):
                spec.width = args[argi]
                if spec.width < 0:
                    spec.minus, spec.width = True, -spec.width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            k = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > k:
                spec.width = int(fmt[k:i])
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and isinstance(args[argi], int):
                    spec.prec = max(args[argi], 0)
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                k = i
                while i < n and fmt[i].isdigit():
                    i += 1
                spec.prec = int(fmt[k:i] or 0)
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append("%!" + verb + "(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        if verb not in "vsdqtxXoObcUeEfFgGT":
            out.append(_bad(verb, arg))
        else:
            out.append(format_arg(arg, spec, verb))
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None or a is NO_VALUE else type_name(a) + "=" + format_value(a)
            for a in args[argi:])
        out.append("%!(EXTRA " + extra + ")")
    return "".join(out)


def sprint(args: list) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    prev_str = True
    for k, a in enumerate(args):
        is_str = isinstance(a, str)
        if k > 0 and not is_str and not prev_str:
            out.append(" ")
        out.append(format_value(None if a is NO_VALUE else a))
        prev_str = is_str
    return "".join(out)


def sprintln(args: list) -> str:
    """fmt.Sprintln: operands always separated by spaces, newline appended."""
    return " ".join(format_value(None if a is NO_VALUE else a) for a in args) + "\n"
