"""Layer tar streams: compression, safe extraction onto a root, and diffs.

This package is the one place that reads or writes layer tars:

- `apply_layer(stream, root, ...)` / `apply_blob(blob, root, ...)`: unpack safely (in-root
  walker, whiteouts, limits) and keep the intended owners/modes in a metadata sidecar;
- `diff_overlay_upper(upper, out, ...)` / `diff_tree(root, out, prefix=...)`: write a
  Docker-faithful layer tar and return its diff_id and size;
- `Metadata`, `Entry`, `sidecar_path`: the sidecar (format in metadata.py);
- `detect`, `open_decompressed`: compressions Docker accepts.
"""

from .compression import detect, open_decompressed
from .diff import DiffResult, diff_overlay_upper, diff_tree, write_layer
from .errors import LayerError
from .extract import ApplyResult, apply_blob, apply_layer, is_real_root, normalise_name
from .metadata import Entry, Metadata, sidecar_path

__all__ = [
    "ApplyResult", "DiffResult", "Entry", "LayerError", "Metadata",
    "apply_blob", "apply_layer", "detect", "diff_overlay_upper", "diff_tree",
    "is_real_root", "normalise_name", "open_decompressed", "sidecar_path", "write_layer",
]
