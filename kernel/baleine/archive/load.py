"""`docker load`: docker-archive (manifest.json, old or new layout) and OCI archives."""

from __future__ import annotations

import json
import posixpath
import tarfile

from baleine import reference
from baleine.archive.common import ArchiveError, ingest_layer, layer_descriptor, write_image
from baleine.layers.compression import open_decompressed
from baleine.store import Store, media
from baleine.store.layout import BlobWriter

MAX_JSON = 4 << 20  # manifests and configs are small; refuse anything bigger


def load(store: Store, stream) -> list[str]:
    """Load every image of the archive; return the lines Docker prints."""
    members: dict[str, BlobWriter] = {}
    try:
        _read_members(store, stream, members)
        if "manifest.json" in members:
            images = _docker_archive_images(store, members)
        elif "index.json" in members:
            images = _oci_archive_images(store, members)
        else:
            raise ArchiveError("open manifest.json: no such file or directory")
        return _commit(store, members, images)
    finally:
        for writer in members.values():
            writer.discard()


def _read_members(store: Store, stream, members: dict[str, BlobWriter]) -> None:
    plain, _ = open_decompressed(stream)
    try:
        with tarfile.open(fileobj=plain, mode="r|") as tf:
            for member in tf:
                if not member.isreg():
                    continue
                name = posixpath.normpath(member.name.lstrip("/"))
                if name.startswith("..") or name in members:
                    raise ArchiveError(f"invalid archive member: {member.name}")
                writer = store.writer()
                members[name] = writer
                writer.copy_from(tf.extractfile(member))
                if writer.size != member.size:
                    raise ArchiveError("unexpected EOF")
    except (tarfile.TarError, EOFError) as err:
        raise ArchiveError(f"unexpected EOF ({err})" if "EOF" in type(err).__name__ or "end" in str(err)
                           else f"archive/tar: invalid tar header ({err})") from None


def _json(members: dict[str, BlobWriter], name: str):
    writer = members.get(name)
    if writer is None:
        raise ArchiveError(f"open {name}: no such file or directory")
    if writer.size > MAX_JSON:
        raise ArchiveError(f"{name}: too large")
    writer.finish()
    if name.startswith("blobs/sha256/") and writer.digest != "sha256:" + name[len("blobs/sha256/"):]:
        raise ArchiveError(f"{name}: digest mismatch: the content hashes to {writer.digest}")
    with open(writer.path, "rb") as f:
        try:
            return json.loads(f.read())
        except ValueError as err:
            raise ArchiveError(f"{name}: invalid JSON: {err}") from None


def _docker_archive_images(store, members) -> list[dict]:
    images = []
    for entry in _json(members, "manifest.json"):
        config_name = entry["Config"]
        config = _json(members, config_name)
        tags = [reference.parse_tagged(t) for t in entry.get("RepoTags") or []]
        images.append({"config_name": config_name, "config": config,
                       "layer_names": entry["Layers"], "refs": tags})
    return images


def _oci_archive_images(store, members) -> list[dict]:
    images = []
    for descriptor in _json(members, "index.json").get("manifests", []):
        manifest = _json(members, _blob_name(descriptor["digest"]))
        if descriptor.get("mediaType") in media.INDEXES or manifest.get("manifests"):
            raise ArchiveError("multi-platform OCI indexes in archives are not supported yet")
        config_name = _blob_name(manifest["config"]["digest"])
        annotations = descriptor.get("annotations", {})
        name = annotations.get(media.CONTAINERD_NAME)
        ref_name = annotations.get(media.REF_NAME, "")
        if not name and ("/" in ref_name or ":" in ref_name):
            name = ref_name  # podman and skopeo put the full reference there; Docker only the tag
        refs = [reference.parse_tagged(name)] if name else []
        images.append({"config_name": config_name, "config": _json(members, config_name),
                       "layer_names": [_blob_name(l["digest"]) for l in manifest.get("layers", [])],
                       "refs": refs})
    return images


def _blob_name(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


def _commit(store: Store, members: dict[str, BlobWriter], images: list[dict]) -> list[str]:
    """Verify every layer against the config's diff_ids, then store all images at once."""
    prepared = []
    for image in images:
        diff_ids = image["config"].get("rootfs", {}).get("diff_ids", [])
        if len(diff_ids) != len(image["layer_names"]):
            raise ArchiveError("invalid image: the number of layers does not match the config")
        layers = []
        for name, diff_id in zip(image["layer_names"], diff_ids):
            writer = members.get(name)
            if writer is None:
                raise ArchiveError(f"open {name}: no such file or directory")
            writer.finish()
            if writer.digest != diff_id:
                # Possibly a compressed layer: its uncompressed content must match.
                with open(writer.path, "rb") as f:
                    plain = ingest_layer(store, f, name)
                members[name + "#plain"] = plain
                writer = plain
                if writer.digest != diff_id:
                    raise ArchiveError(f"invalid diffID for layer {name}: expected {diff_id}, got {writer.digest}")
            layers.append(writer)
        prepared.append((image, layers))

    lines = []
    with store.transaction() as txn:
        existing = {str(r): img.id for img in store.images() for r in img.refs}
        for image, layers in prepared:
            descriptors = []
            for writer in layers:
                if not store.has_blob(writer.digest):
                    txn.add_blob(writer)
                descriptors.append(layer_descriptor(writer.digest, writer.size))
            config_writer = members[image["config_name"]]
            config_digest = config_writer.digest
            if not store.has_blob(config_digest):
                txn.add_blob(config_writer)
            image_id, _ = write_image(txn, (config_digest, config_writer.size), descriptors, image["refs"])
            for ref in image["refs"]:
                old = existing.get(str(ref))
                if old and old != image_id:
                    lines.append(f"The image {ref.familiar()} already exists, renaming the old one "
                                 f"with ID {old} to empty string")
                lines.append(f"Loaded image: {ref.familiar()}")
            if not image["refs"]:
                lines.append(f"Loaded image ID: {image_id}")
    return lines
