"""The metadata sidecar: what each path of an unpacked layer *should* carry.

A non-root user in a single-uid user namespace cannot chown, mknod, or safely keep setuid
bits, so the files on disk differ from the tar headers they came from. The sidecar keeps
the intended values so that commit, export and push write Docker-faithful headers.

Location: next to the unpacked directory, `<dir>.meta.json` (see `sidecar_path`), so an
unpacked layer `<id>/diff` has `<id>/diff.meta.json` and both move with `<id>`.

Format (JSON, UTF-8, written atomically: temp file, fsync, rename)::

    {
      "format": "baleine-layer-metadata",
      "version": 1,
      "entries": {
        "usr/bin/passwd": {"type": "file", "uid": 0, "gid": 0, "mode": 2541, "mtime": 1700000000},
        "usr/bin/ping":   {"type": "file", "uid": 0, "gid": 0, "mode": 493, "mtime": 1700000000,
                           "xattrs": {"security.capability": "<base64>"}},
        "usr/bin/perl5.36.0": {"type": "file", ..., "link": "usr/bin/perl"},
        "dev/null":       {"type": "char", "uid": 0, "gid": 0, "mode": 438, "mtime": 0,
                           "devmajor": 1, "devminor": 3, "skipped": true}
      }
    }

- keys: paths relative to the layer root, no leading "/" or "./", no trailing "/";
  non-UTF-8 names are stored with Python's surrogateescape, i.e. as JSON "\\udcXX" escapes;
- type: file, dir, symlink, fifo, char, block;
- mode: permission and setuid/setgid/sticky bits as in the tar header (an integer, 0o7777 max);
- mtime: seconds since the epoch (float when the tar had sub-second precision);
- xattrs (optional): name -> base64 of the raw value;
- devmajor, devminor (char/block only);
- link (optional): the entry was a hard link to this path in its layer (kept even when the
  link had to be made as a copy);
- skipped (optional): a device node that could not be created on disk.
Optional fields are omitted when empty/false. Readers ignore fields they do not know.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Mapping

FORMAT = "baleine-layer-metadata"
VERSION = 1

TYPES = ("file", "dir", "symlink", "fifo", "char", "block")


@dataclass
class Entry:
    """Intended attributes of one path."""

    type: str
    uid: int = 0
    gid: int = 0
    mode: int = 0o644
    mtime: float = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    link: str | None = None
    skipped: bool = False

    def to_json(self) -> dict:
        out: dict = {"type": self.type, "uid": self.uid, "gid": self.gid,
                     "mode": self.mode, "mtime": self.mtime}
        if self.xattrs:
            out["xattrs"] = {k: base64.b64encode(v).decode("ascii") for k, v in sorted(self.xattrs.items())}
        if self.type in ("char", "block"):
            out["devmajor"], out["devminor"] = self.devmajor, self.devminor
        if self.link:
            out["link"] = self.link
        if self.skipped:
            out["skipped"] = True
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Entry":
        return cls(type=data["type"], uid=int(data.get("uid", 0)), gid=int(data.get("gid", 0)),
                   mode=int(data.get("mode", 0o644)), mtime=data.get("mtime", 0),
                   xattrs={k: base64.b64decode(v) for k, v in data.get("xattrs", {}).items()},
                   devmajor=int(data.get("devmajor", 0)), devminor=int(data.get("devminor", 0)),
                   link=data.get("link"), skipped=bool(data.get("skipped", False)))

    def copy(self, **changes) -> "Entry":
        return replace(self, xattrs=dict(self.xattrs), **changes)


def sidecar_path(root: str | os.PathLike) -> Path:
    """Where the sidecar of the unpacked directory `root` lives: `<root>.meta.json`."""
    root = Path(root)
    return root.parent / (root.name + ".meta.json")


class Metadata(Mapping[str, Entry]):
    """Path -> Entry for one unpacked tree, with the removals a layer applies."""

    def __init__(self, entries: dict[str, Entry] | None = None):
        self.entries: dict[str, Entry] = dict(entries or {})

    # Mapping interface, so a ChainMap of several layers' metadata works too.
    def __getitem__(self, path: str) -> Entry:
        return self.entries[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def set(self, path: str, entry: Entry) -> None:
        self.entries[path] = entry

    def remove(self, path: str, is_dir: bool | None = None) -> None:
        """Forget `path` and, if it was (or may have been) a directory, everything below it."""
        entry = self.entries.pop(path, None)
        if is_dir is None:
            is_dir = entry is None or entry.type == "dir"
        if is_dir:
            self.prune(path, keep=())

    def prune(self, directory: str, keep) -> None:
        """Forget every path strictly below `directory` that is not in `keep`."""
        prefix = directory + "/" if directory else ""
        for key in [k for k in self.entries if k.startswith(prefix) and k not in keep]:
            del self.entries[key]

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Metadata":
        """Read a sidecar; a missing file is an empty tree."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                data = json.load(f)
        except FileNotFoundError:
            return cls()
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"{path}: not a version {VERSION} {FORMAT} file")
        return cls({k: Entry.from_json(v) for k, v in data["entries"].items()})

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically: a crash leaves the old file or the new one."""
        path = Path(path)
        data = {"format": FORMAT, "version": VERSION,
                "entries": {k: self.entries[k].to_json() for k in sorted(self.entries)}}
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
