"""Printing lists and inspect results: the one place that turns template errors into
Docker's `template parsing error: ...` and reports per-object errors after the output."""

from __future__ import annotations

import sys

from baleine.errors import BaleineError


def print_list(fmt: str | None, rows: list[dict], **options) -> None:
    """A table, JSON lines or a template per row (options as for format.render_list)."""
    from baleine.format import TemplateError, render_list
    try:
        sys.stdout.write(render_list(fmt, rows, **options))
    except TemplateError as err:
        raise BaleineError(f"template parsing error: {err}") from None


def print_inspect(fmt: str | None, objects: list, errors=()) -> int:
    """`inspect` output for the objects found, then one line per error; the exit status."""
    from baleine.format import TemplateError, render_inspect
    try:
        out = render_inspect(fmt, objects)
    except TemplateError as err:
        raise BaleineError(f"template parsing error: {err}") from None
    sys.stdout.write(out)
    sys.stdout.flush()
    for err in errors:
        sys.stderr.write(f"{err}\n")
    return 1 if errors else 0
