"""docker's list output: format selection (§0.1), tabwriter tables (§0.2), inspect JSON."""

from __future__ import annotations

from typing import Any, Iterable

from . import gojson
from .template import HEADER_FUNCS, Row, parse
from .units import display_width

MIN_WIDTH, PADDING = 10, 3  # docker's tabwriter: minwidth 10, tabwidth 1, padding 3


def tabwrite(text: str) -> str:
    """Align TAB-terminated cells like Go's text/tabwriter with docker's settings.

    A cell belongs to a column only if a TAB ends it; the text after a line's last TAB is
    never padded. A column's width is computed over each run of consecutive lines that
    have that column: max(cell width + 3), at least 10."""
    if "\t" not in text:
        return text
    lines = text.split("\n")
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines.pop()
    cells = [line.split("\t") for line in lines]
    out: list[str] = []
    _format(cells, 0, len(cells), [], out)
    result = "\n".join(out)
    return result + "\n" if ends_with_newline else result


def _format(cells: list[list[str]], lo: int, hi: int, widths: list[int],
            out: list[str]) -> None:
    column = len(widths)
    line = lo
    start = lo  # first line not yet written
    while line < hi:
        if len(cells[line]) - 1 <= column:
            line += 1
            continue
        # A block of consecutive lines that all have a cell in this column.
        _write(cells, start, line, widths, out)
        block_start = line
        width = MIN_WIDTH
        while line < hi and len(cells[line]) - 1 > column:
            width = max(width, display_width(cells[line][column]) + PADDING)
            line += 1
        widths.append(width)
        _format(cells, block_start, line, widths, out)
        widths.pop()
        start = line
    _write(cells, start, hi, widths, out)


def _write(cells: list[list[str]], lo: int, hi: int, widths: list[int],
           out: list[str]) -> None:
    for row in cells[lo:hi]:
        parts = []
        for j, cell in enumerate(row):
            if j < len(widths):
                parts.append(cell + " " * (widths[j] - display_width(cell)))
            else:
                parts.append(cell)
        out.append("".join(parts))


def _expand(fmt: str) -> str:
    # docker replaces the two-character sequences \t and \n by TAB and newline.
    return fmt.replace("\\t", "\t").replace("\\n", "\n")


def resolve_format(fmt: str | None, *, default_table: str, quiet: bool = False,
                   quiet_template: str = "{{.ID}}",
                   quiet_overrides_format: bool = False) -> tuple[str, bool]:
    """§0.1: map the --format value to (template text, is_table)."""
    if quiet and (quiet_overrides_format or fmt is None or fmt == "table"):
        return quiet_template, False
    if fmt is None or fmt == "table":
        fmt = default_table
    if fmt == "json":
        return "{{json .}}", False
    if fmt.startswith("table"):
        return _expand(fmt[len("table"):].strip(" ")), True
    return _expand(fmt.strip(" ")), False


def render_list(fmt: str | None, rows: Iterable[dict], *, default_table: str,
                headers: dict[str, str], quiet: bool = False,
                quiet_template: str = "{{.ID}}", quiet_overrides_format: bool = False,
                row_type: str = "*formatter.Context") -> str:
    """Render a list command's rows the way docker does (§0.1, §0.2).

    rows hold display-ready values (a callable value is a method, see template.Row);
    headers maps field names to column titles. Returns the whole output, ending with a
    newline when non-empty; a table with no rows still has its header line. Raises
    TemplateError (print it as `template parsing error: <err>`)."""
    text, is_table = resolve_format(fmt, default_table=default_table, quiet=quiet,
                                    quiet_template=quiet_template,
                                    quiet_overrides_format=quiet_overrides_format)
    tmpl = parse(text)
    body = []
    for fields in rows:
        row = fields if isinstance(fields, Row) else Row(fields, row_type)
        body.append(tmpl.execute(row))
        body.append("\n")
    if not is_table:
        return "".join(body)
    # Header errors are ignored by docker: whatever was written before them is kept.
    header = tmpl.execute_partial(dict(headers), HEADER_FUNCS)
    return tabwrite(header + "\n" + "".join(body))


def render_inspect(fmt: str | None, objects: list[Any]) -> str:
    """`docker inspect` output: a 4-space indented JSON array, or the template per object."""
    if not fmt:
        return gojson.dumps(list(objects), escape_html=True, indent="    ") + "\n"
    tmpl = parse(_expand(fmt))
    return "".join(tmpl.execute(obj) + "\n" for obj in objects)
