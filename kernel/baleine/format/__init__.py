"""Docker's output formatting: tables, human units, --format templates, inspect JSON.

Every command that prints goes through here, so the CLI stays byte-for-byte like docker."""

from .table import render_inspect, render_list, resolve_format, tabwrite
from .template import Row, Template, TemplateError, parse, render
from .units import (bytes_size, display_width, ellipsis, human_duration, human_size,
                    truncate_id)

__all__ = [
    "Row", "Template", "TemplateError", "bytes_size", "display_width", "ellipsis",
    "human_duration", "human_size", "parse", "render", "render_inspect", "render_list",
    "resolve_format", "tabwrite", "truncate_id",
]
