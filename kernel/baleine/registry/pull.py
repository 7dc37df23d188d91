"""`docker pull`: resolve a manifest (HEAD first), fetch config and layers verified while they
stream into the store, then record the image, its tag and its digest reference at once.

Blobs are kept exactly as the registry served them (compressed layers, the manifest's own
bytes), so the image's digest stays the registry's. Nothing enters the index before every
blob is verified: a failure leaves no partial image (temp blobs are discarded).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time

from baleine import reference
from baleine.registry import credentials
from baleine.registry import settings as settings_mod
from baleine.registry.client import CHUNK, MAX_CONFIG, Repository
from baleine.registry.errors import (
    ConnectionFailed,
    NotFoundError,
    RegistryError,
    StreamError,
    Unauthorized,
)
from baleine.registry.platforms import choose, parse_platform
from baleine.registry.progress import Progress
from baleine.registry.transport import BACKOFF, RETRIES, Session
from baleine.store import media

MAX_LAYERS = 500
CONCURRENT_DOWNLOADS = 3  # Docker's default: further layers show `Waiting`


def short(digest: str) -> str:
    return digest.partition(":")[2][:12]


def open_repository(ref: reference.Reference, endpoint, push: bool = False) -> Repository:
    """A Repository on one endpoint, with the credentials stored for that endpoint's host."""
    domain = ref.domain if not endpoint.mirror else endpoint.netloc
    # A mirror that is down is skipped after one quick retry: the origin is the fallback.
    session = Session(endpoint.base, credentials.get(domain), retries=1 if endpoint.mirror else RETRIES)
    return Repository(session, ref.path, push=push)


def pull(store, ref: reference.Reference | str, progress: Progress | None = None,
         platform: str | None = None, all_tags: bool = False) -> reference.Reference:
    """Pull one reference (or every tag of its repository); returns the reference pulled,
    with `:latest` added when neither tag nor digest was given."""
    if isinstance(ref, str):
        ref = reference.parse(ref)
    progress = progress or Progress(sys.stdout)
    wanted = parse_platform(platform)
    if all_tags:
        if ref.tag or ref.digest:
            raise RegistryError("tag can't be used with --all-tags/-a")
        return _pull_all(store, ref, progress, wanted)
    if not ref.tag and not ref.digest:
        progress.line("Using default tag: latest")
        ref = ref.with_default_tag()
    newer = _pull_with_fallback(store, ref, progress, wanted)
    progress.line(f"Status: {'Downloaded newer image' if newer else 'Image is up to date'} for {ref.familiar()}")
    return ref


def _pull_all(store, ref, progress, wanted) -> reference.Reference:
    endpoints = settings_mod.pull_endpoints(ref.domain, settings_mod.load_settings())
    tags = None
    for endpoint in endpoints:
        repo = open_repository(ref, endpoint)
        try:
            tags = repo.tags()
            break
        except RegistryError as err:
            if not endpoint.mirror:
                raise _pull_error(err, ref) from None
        finally:
            repo.session.close()
    newer = False
    for tag in sorted(tags or []):
        newer = _pull_with_fallback(store, ref.with_tag(tag), progress, wanted) or newer
    progress.line(f"Status: {'Downloaded newer image' if newer else 'Image is up to date'} for {ref.familiar_name}")
    return reference.Reference(ref.domain, ref.path)


def _pull_with_fallback(store, ref, progress, wanted) -> bool:
    """Mirrors first (docker.io), then the origin: a mirror that fails or lacks the image is
    skipped. Returns whether anything new was stored."""
    endpoints = settings_mod.pull_endpoints(ref.domain, settings_mod.load_settings())
    for endpoint in endpoints:
        repo = open_repository(ref, endpoint)
        try:
            manifest = _resolve(repo, ref, wanted)
        except RegistryError as err:
            repo.session.close()
            if endpoint.mirror:
                continue
            raise _pull_error(err, ref) from None
        try:
            progress.line(f"{ref.digest or ref.tag}: Pulling from {ref.path}")
            return _fetch(store, repo, ref, manifest, progress)
        except RegistryError as err:
            # Once the stream has started, Docker prints errors without the daemon prefix.
            raise StreamError(err.args[0]) from None
        finally:
            repo.session.close()
    raise RegistryError(f"no endpoint for {ref.domain}")  # unreachable: the origin is always last


def _pull_error(err: RegistryError, ref) -> RegistryError:
    """Docker's wording for a missing manifest, repository or permission."""
    text = err.args[0]
    if isinstance(err, Unauthorized) or text.startswith("name unknown"):
        if isinstance(err, Unauthorized) and "authentication required" not in text and "denied" not in text:
            return err
        return RegistryError(f"pull access denied for {ref.familiar_name}, repository does not exist or "
                             "may require 'docker login': denied: requested access to the resource is denied")
    if text.startswith("manifest unknown"):
        return RegistryError(f"manifest for {ref.familiar()} not found: {text}")
    return err


class Manifest:
    """The resolved image: the digest the user pulled (index or manifest) and the image manifest."""

    def __init__(self, top_digest: str, data: bytes, media_type: str, digest: str):
        self.top_digest, self.data, self.media_type, self.digest = top_digest, data, media_type, digest
        self.doc = json.loads(data)


def _resolve(repo: Repository, ref, wanted: dict) -> Manifest:
    target = ref.digest or ref.tag
    try:
        head_digest, _ = repo.head_manifest(target)
    except NotFoundError:  # a HEAD has no body: GET for the registry's own words
        head_digest = None
    # GET by digest once HEAD named it: the tag cannot move between the two requests.
    data, media_type, digest = repo.get_manifest(ref.digest or head_digest or target,
                                                 expected=ref.digest or head_digest, label=ref.familiar())
    top = digest
    if media_type in media.INDEXES:
        entry = choose(json.loads(data), wanted)
        data, media_type, digest = repo.get_manifest(entry["digest"])
        if media_type not in media.MANIFESTS:
            raise RegistryError(f"unsupported manifest media type {media_type} in the index")
    return Manifest(top, data, media_type, digest)


def _validate(manifest: dict) -> None:
    """Trust nothing the registry says before using it as a path or a count."""
    if not isinstance(manifest.get("config"), dict) or not isinstance(manifest.get("layers", []), list):
        raise RegistryError("invalid manifest: no config or layers")
    blobs = [manifest.get("config") or {}] + list(manifest.get("layers") or [])
    if len(blobs) - 1 > MAX_LAYERS:
        raise RegistryError(f"too many layers ({len(blobs) - 1})")
    for blob in blobs:
        if not isinstance(blob, dict):
            raise RegistryError("invalid descriptor in manifest")
        digest = blob.get("digest", "")
        hexpart = digest.partition(":")[2]
        if not (digest.startswith("sha256:") and len(hexpart) == 64 and
                all(c in "0123456789abcdef" for c in hexpart)) or not isinstance(blob.get("size"), int):
            raise RegistryError(f"invalid descriptor in manifest: {digest or blob!r}")
    for layer in manifest.get("layers") or []:
        if layer.get("mediaType") not in (media.OCI_LAYER, media.OCI_LAYER_GZIP, media.OCI_LAYER_ZSTD,
                                          media.DOCKER_LAYER, media.DOCKER_LAYER_GZIP):
            raise RegistryError(f"unsupported layer media type {layer.get('mediaType')}")


def _image_has_digest_ref(store, ref, top_digest: str) -> bool:
    wanted = ref.with_digest(top_digest)
    for image in store.images():
        if wanted in image.refs and (ref.digest or ref in image.refs):
            return True
    return False


def _fetch(store, repo: Repository, ref, m: Manifest, progress: Progress) -> bool:
    """Download what is missing and record the image; False when it was already up to date."""
    if _image_has_digest_ref(store, ref, m.top_digest):
        progress.line(f"Digest: {m.top_digest}")
        return False
    _validate(m.doc)
    config_desc = m.doc["config"]
    config_bytes = _fetch_config(store, repo, config_desc)
    config = json.loads(config_bytes)
    if not isinstance(config, dict):
        raise RegistryError(f"invalid image config {config_desc['digest']}")
    layers = m.doc.get("layers") or []
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(layers):
        raise RegistryError(f"image config lists {len(diff_ids)} layers but the manifest has {len(layers)}")
    missing = []
    for i, layer in enumerate(layers):
        if store.has_blob(layer["digest"]):
            progress.status(short(layer["digest"]), "Already exists")
        else:
            progress.status(short(layer["digest"]), "Pulling fs layer")
            missing.append(i)
    for n, i in enumerate(missing):
        if n >= CONCURRENT_DOWNLOADS:
            progress.status(short(layers[i]["digest"]), "Waiting")
    writers = []
    downloads = _download_layers(store, repo, layers, diff_ids, missing, progress, writers)
    try:
        for i, (_, size) in downloads:
            _record_layer_size(store, diff_ids[i], size)
            progress.status(short(layers[i]["digest"]), "Pull complete")
        descriptor = {"mediaType": m.media_type, "digest": m.digest, "size": len(m.data)}
        with store.transaction() as txn:
            for writer, layer in writers:
                txn.add_blob(writer, expected=layer["digest"])
            txn.put_bytes(config_bytes)
            txn.put_bytes(m.data)
            if not ref.digest:
                txn.set_ref(str(ref), descriptor)
            txn.set_ref(str(ref.with_digest(m.top_digest)), descriptor)
    finally:
        downloads.close()  # waits for the threads still downloading, so that `writers` is final
        for writer, _ in writers:
            writer.discard()
    # Remembered so that a later push can mount these layers instead of uploading them.
    from baleine.registry.push import write_record
    for layer, diff_id in zip(layers, diff_ids):
        if layer["mediaType"] not in (media.OCI_LAYER, media.DOCKER_LAYER):
            write_record(store, diff_id, layer["digest"], layer["size"], layer["mediaType"],
                         f"{ref.domain}/{ref.path}")
    progress.line(f"Digest: {m.top_digest}")
    return True


def _download_layers(store, repo: Repository, layers, diff_ids, missing, progress, writers):
    """Download the missing layers, up to three at a time (each thread with its own connection);
    yield (index, (writer, size)) in layer order, so `Pull complete` comes in order as in Docker.
    Every finished writer is appended to `writers` at once, for the caller to discard."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int):
        own = Repository(repo.session.clone(), repo.path)
        own.scopes = repo.scopes
        try:
            result = download_layer(store, own, layers[i], diff_ids[i], progress)
            writers.append((result[0], layers[i]))
            return result
        finally:
            own.session.close()

    if len(missing) <= 1:
        for i in missing:
            result = download_layer(store, repo, layers[i], diff_ids[i], progress)
            writers.append((result[0], layers[i]))
            yield i, result
        return
    store.ensure()  # once, before the threads: its temp names are per process, not per thread
    with ThreadPoolExecutor(max_workers=CONCURRENT_DOWNLOADS) as pool:
        futures = [(i, pool.submit(one, i)) for i in missing]
        try:
            for i, future in futures:
                yield i, future.result()
        finally:
            for _, future in futures:  # let the others finish or fail before cleaning up
                future.cancel()
            pool.shutdown(wait=True)


def _fetch_config(store, repo: Repository, desc: dict) -> bytes:
    import hashlib
    if store.has_blob(desc["digest"]):
        with store.open_blob(desc["digest"]) as f:
            return f.read()
    if desc["size"] > MAX_CONFIG:
        raise RegistryError(f"image config exceeds the {MAX_CONFIG >> 20} MiB limit")
    response = repo.open_blob(desc["digest"])
    data = response.read_limited(MAX_CONFIG, "image config")
    if "sha256:" + hashlib.sha256(data).hexdigest() != desc["digest"]:
        raise RegistryError(f"image config verification failed for digest {desc['digest']}")
    return data


def download_layer(store, repo: Repository, layer: dict, diff_id: str, progress: Progress):
    """Stream one layer into a temp blob, checking its digest, its size and (decompressed) its
    diff ID. A dropped connection restarts the download, a bounded number of times."""
    layer_id = short(layer["digest"])
    for attempt in range(RETRIES + 1):
        writer = store.writer()
        diff = None
        try:
            response = repo.open_blob(layer["digest"])
            diff = BackgroundDiff(layer["mediaType"])
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                writer.write(chunk)
                diff.update(chunk)
                progress.bytes(layer_id, "Downloading", writer.size, layer["size"])
                if writer.size > layer["size"]:
                    break
            length = response.headers.get("content-length", "")
            if length.isdigit() and writer.size < int(length):
                # http.client returns a short body when the server vanishes: a dropped connection.
                raise http.client.IncompleteRead(b"", int(length) - writer.size)
            progress.status(layer_id, "Verifying Checksum")
            if writer.size != layer["size"] or writer.digest != layer["digest"]:
                raise RegistryError(f"filesystem layer verification failed for digest {layer['digest']}")
            progress.status(layer_id, "Download complete")
            got_diff_id, size = diff.finish()
            if got_diff_id != diff_id:
                raise RegistryError(f"layer {layer['digest']}: its content hashes to {got_diff_id}, "
                                    f"the image config says {diff_id}")
            return writer, size
        except (ConnectionFailed, OSError, http.client.HTTPException) as err:
            writer.discard()
            if attempt >= RETRIES or getattr(err, "exhausted", False):
                if isinstance(err, ConnectionFailed):
                    raise
                raise ConnectionFailed(f"error pulling layer {layer['digest']}: "
                                       f"{err.strerror.lower() if getattr(err, 'strerror', None) else 'unexpected EOF'}") from None
            time.sleep(BACKOFF * (2 ** attempt))
        except BaseException:
            writer.discard()
            raise
        finally:
            if diff is not None:
                diff.close()
    raise AssertionError("unreachable")


class DiffHasher:
    """sha256 and size of a layer's uncompressed tar, fed with the compressed bytes."""

    def __init__(self, media_type: str):
        import hashlib
        self.hash = hashlib.sha256()
        self.size = 0
        self.kind = ("gzip" if media_type.endswith("gzip") else "zstd" if media_type.endswith("zstd")
                     else None)
        self._decompressor = self._new()
        self.error = ""

    def _new(self):
        if self.kind == "gzip":
            import zlib
            return zlib.decompressobj(31)
        if self.kind == "zstd":
            import zstandard
            return zstandard.ZstdDecompressor().decompressobj()
        return None

    def _out(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)

    def update(self, data: bytes) -> None:
        if self.kind is None:
            self._out(data)
            return
        if self.error:
            return
        try:
            while data:
                self._out(self._decompressor.decompress(data))
                if not self._decompressor.eof:
                    break
                data = self._decompressor.unused_data  # the next gzip member or zstd frame
                self._decompressor = self._new()
        except Exception as err:  # noqa: BLE001 - zlib.error, zstandard.ZstdError: a corrupt stream
            # Reported by finish(): a wrong digest, checked first, is the better message.
            self.error = f"layer is not a valid {self.kind} stream: {err}"

    def finish(self) -> tuple[str, int]:
        if self.error:
            raise RegistryError(self.error)
        if self.kind == "gzip":
            self._out(self._decompressor.flush())
        return "sha256:" + self.hash.hexdigest(), self.size


class BackgroundDiff:
    """A DiffHasher in a thread: decompression (zlib and zstandard release the GIL) overlaps
    the download instead of following it."""

    def __init__(self, media_type: str):
        import queue
        import threading
        self.inner = DiffHasher(media_type)
        self._chunks: queue.Queue = queue.Queue(maxsize=32)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            chunk = self._chunks.get()
            if chunk is None:
                return
            self.inner.update(chunk)

    def update(self, data: bytes) -> None:
        self._chunks.put(data)

    def close(self) -> None:
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()

    def finish(self) -> tuple[str, int]:
        self.close()
        return self.inner.finish()


def _record_layer_size(store, diff_id: str, size: int) -> None:
    """The uncompressed size of a compressed layer, which `images` and `history` show."""
    from baleine.fsutil import atomic_write
    directory = os.path.join(store.root, "layer-sizes")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    atomic_write(os.path.join(directory, diff_id.partition(":")[2]), str(size).encode())


def pull_if_missing(store, text: str, stream=None, platform: str | None = None, announced: bool = False):
    """Docker's flow for `run`, `create` and `FROM`: the local image, else `Unable to find
    image 'x:latest' locally` (unless the caller `announced` it already) and a pull, its
    output on `stream` (stderr by default). Returns the Image; errors exit 125."""
    from baleine.errors import BaleineError, NotFound
    try:
        return store.lookup(text)
    except NotFound:
        pass
    ref = reference.parse(text)
    if not ref.digest:
        ref = ref.with_default_tag()
    stream = stream or sys.stderr
    if not announced:
        stream.write(f"Unable to find image '{ref.familiar()}' locally\n")
        stream.flush()
    try:
        pulled = pull(store, ref, Progress(stream), platform=platform)
    except BaleineError as err:
        err.exit_code = 125
        raise
    return store.lookup(str(pulled))
