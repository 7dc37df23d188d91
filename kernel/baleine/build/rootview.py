"""Read a build state's file system without mounting it: its unpacked layers, top first.

Layers are unpacked once (snapshot.ensure_layer) with overlayfs whiteouts: a 0/0 character
device hides a name of lower layers, an `overlay.opaque` xattr hides a whole lower directory.
Intended owners and modes come from each layer's sidecar (files on disk of a rootless user
belong to that user). Used by COPY --from, COPY's destination checks, WORKDIR and USER.
Paths are resolved in-root: symlinks are followed as if the layers were `/`.
"""

from __future__ import annotations

import os
import stat

from baleine.layers import Metadata, sidecar_path

_OPAQUE = (b"y",)


class Node:
    """One path as the merged view shows it."""

    def __init__(self, host: str, st: os.stat_result, entry):
        self.host, self.st, self.entry = host, st, entry

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.st.st_mode)

    @property
    def mode(self) -> int:
        return self.entry.mode if self.entry and not self.entry.skipped else stat.S_IMODE(self.st.st_mode)

    @property
    def owner(self) -> tuple[int, int]:
        if self.entry:
            return self.entry.uid, self.entry.gid
        return 0, 0


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, name, follow_symlinks=False) in _OPAQUE:
                return True
        except OSError:
            pass
    return False


class RootView:
    def __init__(self, layer_dirs: list[str]):
        self.layers = list(layer_dirs)  # top first
        self._meta: dict[str, Metadata] = {}

    def _metadata(self, layer: str) -> Metadata:
        if layer not in self._meta:
            self._meta[layer] = Metadata.load(sidecar_path(layer))
        return self._meta[layer]

    def _lookup_exact(self, rel: str) -> Node | None:
        """The path with no symlink resolution (parents taken as written)."""
        parts = rel.split("/") if rel else []
        for layer in self.layers:
            hidden = False  # an opaque parent in this layer hides the lower layers
            for i in range(len(parts) - 1):
                prefix = os.path.join(layer, *parts[: i + 1])
                try:
                    st = os.lstat(prefix)
                except OSError:
                    break
                if _whiteout(st):
                    return None
                if stat.S_ISDIR(st.st_mode) and _opaque(prefix):
                    hidden = True
            path = os.path.join(layer, *parts)
            try:
                st = os.lstat(path)
            except OSError:
                if hidden:
                    return None
                continue
            if _whiteout(st):
                return None
            return Node(path, st, self._metadata(layer).get(rel) if rel else None)
        return None

    def resolve(self, path: str, follow_last: bool = True) -> tuple[str, Node | None]:
        """(resolved relative path, node or None) for an absolute container path."""
        todo = [p for p in path.split("/") if p]
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop(0)
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            rel = "/".join(done + [part])
            node = self._lookup_exact(rel)
            if node is None:
                return "/".join(done + [part] + todo), None
            if node.is_link and (todo or follow_last):
                hops += 1
                if hops > 40:
                    return rel, None
                target = os.readlink(node.host)
                if target.startswith("/"):
                    done = []
                todo = [p for p in target.split("/") if p] + todo
                continue
            done.append(part)
        rel = "/".join(done)
        if not rel:
            return "", Node(self.layers[-1] if self.layers else "/nonexistent", _root_stat(self.layers), None)
        return rel, self._lookup_exact(rel)

    def listdir(self, rel: str) -> list[str]:
        """Names in a directory of the merged view (resolved relative path)."""
        names: set[str] = set()
        gone: set[str] = set()
        parts = rel.split("/") if rel else []
        for layer in self.layers:
            path = os.path.join(layer, *parts)
            try:
                entries = os.listdir(path)
            except OSError:
                continue
            for name in entries:
                if name in names or name in gone:
                    continue
                if _whiteout(os.lstat(os.path.join(path, name))):
                    gone.add(name)
                else:
                    names.add(name)
            if _opaque(path):
                break
        return sorted(names)

    def read_text(self, path: str) -> str | None:
        _, node = self.resolve(path)
        if node is None or not stat.S_ISREG(node.st.st_mode):
            return None
        try:
            with open(node.host, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return None

    def user_ids(self, user: str) -> tuple[int, int]:
        """`name[:group]` from the image's /etc/passwd and /etc/group (text, never NSS)."""
        name, _, group = user.partition(":")
        uid = gid = None
        if name.isdigit():
            uid = int(name)
        if uid is None or not group:
            for line in (self.read_text("/etc/passwd") or "").splitlines():
                fields = line.split(":")
                if len(fields) >= 4 and (fields[0] == name or (uid is not None and fields[2] == name)):
                    uid, gid = int(fields[2]), int(fields[3])
                    break
            if uid is None:
                raise LookupError(f"unable to find user {name}: no matching entries in passwd file")
        if group:
            if group.isdigit():
                gid = int(group)
            else:
                for line in (self.read_text("/etc/group") or "").splitlines():
                    fields = line.split(":")
                    if len(fields) >= 3 and fields[0] == group:
                        gid = int(fields[2])
                        break
                else:
                    raise LookupError(f"unable to find group {group}: no matching entries in group file")
        return uid, gid if gid is not None else 0


def _root_stat(layers: list[str]) -> os.stat_result:
    for layer in layers:
        try:
            return os.lstat(layer)
        except OSError:
            pass
    return os.lstat("/")
