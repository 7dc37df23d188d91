"""Pieces shared by import and load: ingesting a layer and writing an image."""

from __future__ import annotations

import os
import platform
import tarfile

from baleine import reference, times
from baleine.errors import BaleineError
from baleine.layers.compression import open_decompressed
from baleine.store import Store, media
from baleine.store.layout import BlobWriter, Transaction


class ArchiveError(BaleineError):
    pass


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def ingest_layer(store: Store, stream, what: str) -> BlobWriter:
    """Decompress a layer into a temp blob and check that it is a complete tar archive."""
    writer = store.writer()
    try:
        plain, _ = open_decompressed(stream)
        writer.copy_from(plain)
        writer.finish()
    except (EOFError, OSError, ValueError) as err:
        writer.discard()
        if isinstance(err, OSError) and err.errno is not None:
            raise
        raise ArchiveError(f"{what}: {_reason(err)}") from None
    except BaseException:
        writer.discard()
        raise
    try:
        check_tar(writer.path, writer.size)
    except ArchiveError as err:
        writer.discard()
        raise ArchiveError(f"{what}: {err}") from None
    return writer


def _reason(err: Exception) -> str:
    text = str(err) or type(err).__name__
    if "end-of-stream" in text or isinstance(err, EOFError):
        return "unexpected EOF"
    return text


def check_tar(path: str, size: int) -> None:
    """A layer must be a readable tar whose members all lie inside the file (no truncation)."""
    if size == 0:
        return  # an empty layer (Docker writes 1024 zero bytes, but accepts nothing)
    try:
        with tarfile.open(path, "r:") as tf:
            for member in tf:
                if member.offset_data + (member.size if member.isreg() else 0) > size:
                    raise ArchiveError("archive/tar: unexpected EOF")
    except tarfile.TarError as err:
        raise ArchiveError(f"archive/tar: invalid tar header ({err})") from None


def write_image(txn: Transaction, config: dict | tuple[str, int], layers: list[dict],
                refs: list[reference.Reference]) -> tuple[str, dict]:
    """Store config + manifest, point `refs` at it (or keep it untagged). Returns (ID, descriptor).

    `config` is a dict to serialise, or (digest, size) of config bytes already stored as they
    came (the image ID is the digest of those exact bytes)."""
    config_digest, config_size = txn.put_json(config) if isinstance(config, dict) else config
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
    }
    manifest_digest, manifest_size = txn.put_json(manifest)
    descriptor = {"mediaType": media.OCI_MANIFEST, "digest": manifest_digest, "size": manifest_size}
    for ref in refs:
        txn.set_ref(str(ref), descriptor)
    if not refs:
        txn.add_untagged(descriptor)
    return config_digest, descriptor


def layer_descriptor(digest: str, size: int) -> dict:
    return {"mediaType": media.OCI_LAYER, "digest": digest, "size": size}


def new_config(diff_ids: list[str], history: list[dict], container_config: dict, created: str | None = None) -> dict:
    created = created or times.rfc3339_nano()
    config = {"architecture": go_arch(), "config": container_config, "created": created,
              "history": history, "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    return config


def open_input(path: str | None):
    """A file to read, or stdin when the path is absent or `-`."""
    import sys
    if path in (None, "-"):
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as err:
        raise ArchiveError(f"open {path}: {err.strerror.lower() if err.strerror else err}") from None


def source_date_epoch() -> str | None:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    return times.rfc3339_nano(int(value)) if value and value.isdigit() else None
