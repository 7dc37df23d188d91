"""Blobs, index.json and the lock: the OCI image layout on disk."""

from __future__ import annotations

import errno
import fcntl
import json
import os

from baleine.errors import BaleineError
from baleine.fsutil import atomic_write, root_dir
from baleine.store import media

CHUNK = 1 << 20


class StoreError(BaleineError):
    pass


def _os_error(err: OSError, what: str) -> StoreError:
    """One line for the user: what failed, on which path, and the system's reason."""
    return StoreError(f"{what}: {err.filename}: {err.strerror}" if err.filename else f"{what}: {err}")


def json_bytes(obj) -> bytes:
    """Canonical JSON for blobs we write: compact, keys in insertion order, UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_digest(data: bytes) -> str:
    import hashlib
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobWriter:
    """Streams one blob into tmp/ while hashing it; `Transaction.add_blob` moves it in."""

    def __init__(self, store: "Store"):
        store.ensure()
        fd, path = _mkstemp(store.tmp_dir)
        # The lock tells cleaners this temp file is alive; it dies with the process.
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.path = path
        self.file = os.fdopen(fd, "wb")
        import hashlib  # not at module level: read-only commands never need it
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.file.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def copy_from(self, stream, limit: int | None = None) -> None:
        while True:
            chunk = stream.read(CHUNK if limit is None else min(CHUNK, limit - self.size))
            if not chunk:
                break
            self.write(chunk)
            if limit is not None and self.size >= limit:
                break

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def finish(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def discard(self) -> None:
        try:
            self.file.close()
        finally:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()


def _mkstemp(directory: str) -> tuple[int, str]:
    name = os.path.join(directory, f"blob-{os.getpid()}-{os.urandom(6).hex()}")
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), name


class Store:
    def __init__(self, root: str):
        self.root = root
        self.layout = os.path.join(root, "images")
        self.blobs = os.path.join(self.layout, "blobs", "sha256")
        self.index_path = os.path.join(self.layout, "index.json")
        self.tmp_dir = os.path.join(root, "tmp")
        self.lock_path = os.path.join(root, "images.lock")
        self._json_cache: dict[str, dict] = {}

    # -- reading -------------------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        algorithm, _, hexpart = digest.partition(":")
        if algorithm != "sha256" or len(hexpart) != 64:
            raise StoreError(f"unsupported digest: {digest}")
        return os.path.join(self.blobs, hexpart)

    def has_blob(self, digest: str) -> bool:
        return os.path.exists(self.blob_path(digest))

    def open_blob(self, digest: str):
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise StoreError(f"blob {digest} is missing from the image store "
                             "(run 'docker system check')") from None

    def read_json(self, digest: str) -> dict:
        """A manifest or config blob, parsed (cached: blobs never change)."""
        cached = self._json_cache.get(digest)
        if cached is None:
            with self.open_blob(digest) as f:
                cached = json.loads(f.read())
            self._json_cache[digest] = cached
        return cached

    def read_index(self) -> list[dict]:
        try:
            with open(self.index_path, "rb") as f:
                return json.loads(f.read()).get("manifests", [])
        except FileNotFoundError:
            return []
        except PermissionError as err:
            raise _os_error(err, "cannot read the image store") from None

    # -- writing -------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the layout on first use (store directories are private: 0700)."""
        if os.path.exists(self.index_path) and os.path.isdir(self.tmp_dir):
            return
        try:
            for d in (self.root, self.layout, os.path.dirname(self.blobs), self.blobs, self.tmp_dir):
                os.makedirs(d, mode=0o700, exist_ok=True)
            layout_file = os.path.join(self.layout, "oci-layout")
            if not os.path.exists(layout_file):
                atomic_write(layout_file, json_bytes({"imageLayoutVersion": media.OCI_LAYOUT_VERSION}))
            if not os.path.exists(self.index_path):
                atomic_write(self.index_path, _index_bytes([]))
        except OSError as err:
            raise _os_error(err, "cannot initialise the image store") from None

    def writer(self) -> BlobWriter:
        try:
            return BlobWriter(self)
        except OSError as err:
            raise _os_error(err, "cannot write to the image store") from None

    def transaction(self) -> "Transaction":
        """`with store.transaction() as txn:` holds the store lock, reads a fresh index, and
        writes it back atomically if the block succeeds."""
        return Transaction(self)

    def clean_tmp(self) -> int:
        """Remove temp blobs whose writer died (their flock is free). Returns the count."""
        removed = 0
        try:
            names = os.listdir(self.tmp_dir)
        except FileNotFoundError:
            return 0
        for name in names:
            path = os.path.join(self.tmp_dir, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)
                removed += 1
            except OSError as err:
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
            finally:
                os.close(fd)
        return removed

    # -- images --------------------------------------------------------------------------

    def images(self):
        from baleine.store.images import group_images
        return group_images(self, self.read_index())

    def lookup(self, text: str):
        from baleine.store.images import lookup
        return lookup(self, self.images(), text)


def _index_bytes(manifests: list[dict]) -> bytes:
    return json_bytes({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": manifests})


class Transaction:
    """Changes to the index made while the store lock is held."""

    def __init__(self, store: Store):
        self.store = store
        self.manifests: list[dict] = []
        self.changed = False
        self._lock_fd = -1

    def __enter__(self) -> "Transaction":
        self.store.ensure()
        try:
            self._lock_fd = os.open(self.store.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as err:
            raise _os_error(err, "cannot lock the image store") from None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.manifests = self.store.read_index()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None and self.changed:
                try:
                    atomic_write(self.store.index_path, _index_bytes(self.manifests))
                except OSError as err:
                    raise _os_error(err, "cannot update the image store") from None
                self.collect_garbage()
        finally:
            os.close(self._lock_fd)
        return False

    def add_blob(self, writer: BlobWriter, expected: str | None = None) -> str:
        """Move a finished temp blob into blobs/ (verifying its digest if one is expected)."""
        writer.finish()
        digest = writer.digest
        if expected and expected != digest:
            writer.discard()
            raise StoreError(f"digest mismatch: expected {expected}, got {digest}")
        try:
            os.chmod(writer.path, 0o644)
            os.replace(writer.path, self.store.blob_path(digest))
        except OSError as err:
            raise _os_error(err, "cannot write to the image store") from None
        writer.file.close()
        return digest

    def put_bytes(self, data: bytes) -> str:
        digest = sha256_digest(data)
        path = self.store.blob_path(digest)
        if not os.path.exists(path):
            try:
                atomic_write(path, data)
            except OSError as err:
                raise _os_error(err, "cannot write to the image store") from None
        return digest

    def put_json(self, obj) -> tuple[str, int]:
        data = json_bytes(obj)
        return self.put_bytes(data), len(data)

    # Index entries: one per reference, plus one anonymous entry for an untagged image.

    def refs_of(self, manifest_digest: str) -> list[str]:
        return [d["annotations"][media.REF_NAME] for d in self.manifests
                if d["digest"] == manifest_digest and media.REF_NAME in d.get("annotations", {})]

    def set_ref(self, ref: str, descriptor: dict) -> str | None:
        """Point `ref` (a full reference string) at a manifest; return the manifest it left."""
        previous = None
        kept = []
        for d in self.manifests:
            if d.get("annotations", {}).get(media.REF_NAME) == ref:
                previous = d["digest"]
            elif not (d["digest"] == descriptor["digest"] and not d.get("annotations")):
                kept.append(d)
        entry = {k: descriptor[k] for k in ("mediaType", "digest", "size")}
        entry["annotations"] = {media.REF_NAME: ref, media.CONTAINERD_NAME: ref}
        kept.append(entry)
        self.manifests = kept
        if previous and previous != descriptor["digest"]:
            self._keep_dangling(previous, descriptor_like=descriptor)
        else:
            previous = None
        self.changed = True
        return previous

    def add_untagged(self, descriptor: dict) -> None:
        if not any(d["digest"] == descriptor["digest"] for d in self.manifests):
            self.manifests.append({k: descriptor[k] for k in ("mediaType", "digest", "size")})
            self.changed = True

    def remove_ref(self, ref: str, keep_image: bool = True) -> str | None:
        """Drop one reference; the image stays (dangling) unless `keep_image` is False."""
        for d in self.manifests:
            if d.get("annotations", {}).get(media.REF_NAME) == ref:
                self.manifests.remove(d)
                self.changed = True
                if keep_image:
                    self._keep_dangling(d["digest"], descriptor_like=d)
                return d["digest"]
        return None

    def remove_manifest(self, manifest_digest: str) -> None:
        self.manifests = [d for d in self.manifests if d["digest"] != manifest_digest]
        self.changed = True

    def _keep_dangling(self, manifest_digest: str, descriptor_like: dict) -> None:
        if not any(d["digest"] == manifest_digest for d in self.manifests):
            size = os.path.getsize(self.store.blob_path(manifest_digest))
            media_type = self.store.read_json(manifest_digest).get("mediaType", media.OCI_MANIFEST)
            self.manifests.append({"mediaType": media_type, "digest": manifest_digest, "size": size})

    def collect_garbage(self) -> None:
        """Delete blobs no index entry reaches (never blobs being written: those are in tmp/)."""
        live = set()
        for d in self.manifests:
            live.add(d["digest"])
            manifest = self.store.read_json(d["digest"])
            live.add(manifest["config"]["digest"])
            live.update(layer["digest"] for layer in manifest.get("layers", []))
        for name in os.listdir(self.store.blobs):
            if "sha256:" + name not in live:
                try:
                    os.unlink(os.path.join(self.store.blobs, name))
                except OSError:
                    pass


def open_store(root: str | None = None) -> Store:
    return Store(root or root_dir())
