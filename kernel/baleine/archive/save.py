"""`docker save`: the archive Docker >= 25 writes (an OCI layout plus manifest.json)."""

from __future__ import annotations

import io
import tarfile

from baleine import reference
from baleine.archive.common import layer_descriptor
from baleine.layers.compression import open_decompressed
from baleine.store import Store, media
from baleine.store.images import Image, layer_size
from baleine.store.layout import json_bytes, sha256_digest


def _selected(store: Store, names: list[str]) -> list[tuple[Image, list[reference.Reference]]]:
    """Images to save and which of their tags go along (a bare repository name takes all tags)."""
    chosen: dict[str, tuple[Image, list[reference.Reference]]] = {}
    images = store.images()
    for name in names:
        image = store.lookup(name)
        refs: list[reference.Reference] = []
        if not (reference.looks_like_id(name) and image.id[7:].startswith(name.removeprefix("sha256:"))):
            ref = reference.parse(name)
            if ref.tag or ref.digest:
                refs = [ref.with_default_tag()] if ref.tag else []
            else:
                refs = [r for img in images for r in img.tags if r.name == ref.name and img.id == image.id]
        entry = chosen.setdefault(image.id, (image, []))
        entry[1].extend(r for r in refs if r not in entry[1])
    return list(chosen.values())


def save(store: Store, names: list[str], out) -> None:
    selected = _selected(store, names)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _add_dir(tf, "blobs/")
        _add_dir(tf, "blobs/sha256/")
        written: set[str] = set()
        index, legacy, repositories = [], [], {}
        for image, refs in selected:
            layers = []
            for descriptor, diff_id in zip(image.layers, image.diff_ids):
                if diff_id not in written:
                    _add_layer(tf, store, descriptor, diff_id)
                    written.add(diff_id)
                layers.append(layer_descriptor(diff_id, layer_size(store, descriptor, diff_id)))
            if image.id not in written:
                _add_blob_file(tf, store, image.id)
                written.add(image.id)
            manifest = dict(image.manifest)
            if manifest.get("layers") != layers or manifest.get("mediaType") != media.OCI_MANIFEST:
                manifest = {"schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
                            "config": {"mediaType": media.OCI_CONFIG, "digest": image.id,
                                       "size": image.manifest["config"]["size"]},
                            "layers": layers}
                data = json_bytes(manifest)
                digest = sha256_digest(data)
            else:
                data = _blob_bytes(store, image.manifest_digest)
                digest = image.manifest_digest
            if digest not in written:
                _add_bytes(tf, "blobs/sha256/" + digest[7:], data)
                written.add(digest)
            descriptor = {"mediaType": media.OCI_MANIFEST, "digest": digest, "size": len(data)}
            for ref in refs:
                index.append({**descriptor, "annotations": {
                    media.CONTAINERD_NAME: str(ref), media.REF_NAME: ref.tag}})
                repositories.setdefault(ref.familiar_name, {})[ref.tag] = image.diff_ids[-1][7:] if image.diff_ids else ""
            if not refs:
                index.append(descriptor)
            legacy.append({"Config": "blobs/sha256/" + image.id[7:],
                           "RepoTags": [r.familiar() for r in refs] or None,
                           "Layers": ["blobs/sha256/" + d[7:] for d in image.diff_ids]})
        _add_json(tf, "index.json", {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": index})
        _add_json(tf, "manifest.json", legacy)
        _add_json(tf, "oci-layout", {"imageLayoutVersion": media.OCI_LAYOUT_VERSION})
        if repositories:
            _add_json(tf, "repositories", repositories)


def _info(name: str, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0  # Docker writes every entry with the Unix epoch
    info.mode = 0o755 if directory else 0o644
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.size = size
    return info


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    tf.addfile(_info(name, directory=True))


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    tf.addfile(_info(name, len(data)), io.BytesIO(data))


def _add_json(tf: tarfile.TarFile, name: str, obj) -> None:
    _add_bytes(tf, name, json_bytes(obj))


def _blob_bytes(store: Store, digest: str) -> bytes:
    with store.open_blob(digest) as f:
        return f.read()


def _add_blob_file(tf: tarfile.TarFile, store: Store, digest: str) -> None:
    with store.open_blob(digest) as f:
        size = f.seek(0, 2)
        f.seek(0)
        tf.addfile(_info("blobs/sha256/" + digest[7:], size), f)


def _add_layer(tf: tarfile.TarFile, store: Store, descriptor: dict, diff_id: str) -> None:
    """Layers are saved uncompressed, named by their diff_id, as Docker does."""
    if descriptor.get("mediaType") in media.UNCOMPRESSED_LAYERS:
        _add_blob_file(tf, store, descriptor["digest"])
        return
    size = layer_size(store, descriptor, diff_id)
    with store.open_blob(descriptor["digest"]) as f:
        plain, _ = open_decompressed(f)
        tf.addfile(_info("blobs/sha256/" + diff_id[7:], size), plain)
