"""Docker's output formatting: tables, human units, --format templates, inspect JSON.

Every command that prints goes through here, so the CLI stays byte-for-byte like docker.

    render_list(fmt, rows, default_table=..., headers=...)   list commands (§0.1, §0.2)
    render_inspect(fmt, objects)                             docker inspect
    human_size / bytes_size / human_duration / truncate_id / ellipsis / display_width
    parse(source).execute(data)                              Go text/template subset
    TemplateError                                            print "template parsing error: <e>"
"""

from .gofmt import format_value as go_value
from .gofmt import go_quote, sprintf
from .gojson import dumps as go_json
from .table import render_inspect, render_list, resolve_format, tabwrite
from .template import Row, Template, TemplateError, parse, render
from .units import (bytes_size, display_width, ellipsis, human_duration, human_size,
                    truncate_id)

__all__ = [
    "Row", "Template", "TemplateError", "bytes_size", "display_width", "ellipsis",
    "go_json", "go_quote", "go_value", "human_duration", "human_size", "parse", "render",
    "render_inspect", "render_list", "resolve_format", "sprintf", "tabwrite", "truncate_id",
]
