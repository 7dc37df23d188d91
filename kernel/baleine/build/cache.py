"""The build cache: which layer a step produced, keyed by what the step depends on.

    $BALEINE_ROOT/buildcache/index.json      {key: {"diff_id", "size", "created"}}
    $BALEINE_ROOT/buildcache/blobs/<hex>     the layer tars (hard links to the store's blobs
                                             when possible: the store's garbage collector may
                                             drop its name, the cache keeps its own)

A key is the digest of the parent state (the chain of layers and the config a step runs
with), the instruction after expansion, the build args it sees and, for COPY/ADD, the
content of its sources. The creation time is kept, so a cached rebuild gives the same
image ID. Writes are atomic (temp file + rename) under a lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

from baleine.fsutil import FileLock, atomic_write, tree_size


def key_of(*parts) -> str:
    data = json.dumps(parts, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8", "surrogateescape")).hexdigest()


class BuildCache:
    def __init__(self, root: str):
        self.dir = os.path.join(root, "buildcache")
        self.blobs = os.path.join(self.dir, "blobs")
        self.index_path = os.path.join(self.dir, "index.json")

    def _index(self) -> dict:
        try:
            with open(self.index_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> dict | None:
        entry = self._index().get(key)
        if entry and os.path.exists(self.blob_path(entry["diff_id"])):
            return entry
        return None

    def blob_path(self, diff_id: str) -> str:
        return os.path.join(self.blobs, diff_id.partition(":")[2])

    def put(self, key: str, blob: str, diff_id: str, size: int, created: str) -> None:
        """Record a step's layer; `blob` is a finished file (linked, or copied, here)."""
        os.makedirs(self.blobs, mode=0o700, exist_ok=True)
        target = self.blob_path(diff_id)
        if not os.path.exists(target):
            _link_or_copy(blob, target)
        with self._lock():
            index = self._index()
            index[key] = {"diff_id": diff_id, "size": size, "created": created}
            atomic_write(self.index_path, json.dumps(index, separators=(",", ":")).encode(), 0o600)

    def _lock(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        return FileLock(os.path.join(self.dir, "lock"))

    def prune(self, store=None) -> int:
        """Remove every cache entry, and the unpacked layers only the cache still needed
        (no image, no container uses them); returns the bytes freed."""
        if not os.path.isdir(self.dir):
            return 0
        with self._lock():
            freed = 0
            if store is not None:
                freed += _prune_unpacked(store, {e["diff_id"] for e in self._index().values()})
            mounts = os.path.join(self.dir, "mounts")  # RUN --mount=type=cache directories
            if os.path.isdir(mounts):
                from baleine import snapshot
                freed += tree_size(mounts)
                snapshot.remove_tree(mounts)  # fd-relative rmtree; never follows their symlinks
            if os.path.isdir(self.blobs):
                for name in os.listdir(self.blobs):
                    path = os.path.join(self.blobs, name)
                    st = os.lstat(path)
                    if st.st_nlink <= 1:  # a blob the store still holds frees nothing
                        freed += st.st_size
                    os.unlink(path)
            atomic_write(self.index_path, b"{}", 0o600)
        return freed


def _link_or_copy(source: str, target: str) -> None:
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _prune_unpacked(store, diff_ids: set[str]) -> int:
    from baleine import snapshot
    used = set()
    for image in store.images():
        used.update(image.diff_ids)
    in_containers = _container_lowers(store.root)
    freed = 0
    for diff_id in diff_ids - used:
        hexpart = diff_id.partition(":")[2]
        path = os.path.dirname(snapshot.layer_path(store.root, diff_id))
        if hexpart in in_containers or not os.path.isdir(path):
            continue
        freed += tree_size(path)
        snapshot.remove_tree(path)
    return freed


def _container_lowers(root: str) -> str:
    """Every container's runtime spec, as one string: a layer named in it is in use."""
    texts = []
    base = os.path.join(root, "containers")
    for name in os.listdir(base) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, name, "bundle", "config.json")) as f:
                texts.append(f.read())
        except OSError:
            continue
    return "\n".join(texts)
