"""Images as Docker shows them: one per config digest, with all its references."""

from __future__ import annotations

import os

from baleine import reference
from baleine.errors import DaemonError, NotFound
from baleine.store import media


class Image:
    def __init__(self, store, image_id: str, descriptor: dict):
        self.store = store
        self.id = image_id  # sha256:<config digest hex>
        self.descriptor = descriptor  # the manifest descriptor (mediaType, digest, size)
        self.refs: list[reference.Reference] = []

    @property
    def manifest_digest(self) -> str:
        return self.descriptor["digest"]

    @property
    def manifest(self) -> dict:
        return self.store.read_json(self.manifest_digest)

    @property
    def config(self) -> dict:
        return self.store.read_json(self.id)

    @property
    def tags(self) -> list[reference.Reference]:
        return [r for r in self.refs if r.tag]

    @property
    def repo_digests(self) -> list[reference.Reference]:
        return [r for r in self.refs if r.digest and not r.tag]

    @property
    def dangling(self) -> bool:
        return not self.refs

    @property
    def created(self) -> str:
        return self.config.get("created", "")

    @property
    def layers(self) -> list[dict]:
        return self.manifest.get("layers", [])

    @property
    def diff_ids(self) -> list[str]:
        return self.config.get("rootfs", {}).get("diff_ids", [])

    @property
    def size(self) -> int:
        """Uncompressed size of all layers, as Docker's classic store reports it."""
        return sum(layer_size(self.store, layer, diff_id)
                   for layer, diff_id in zip(self.layers, self.diff_ids))


def layer_size(store, descriptor: dict, diff_id: str) -> int:
    """Uncompressed size of a layer: the blob itself, or what was recorded when it was pulled."""
    if descriptor.get("mediaType") in media.UNCOMPRESSED_LAYERS:
        return descriptor["size"]
    recorded = os.path.join(store.root, "layer-sizes", diff_id.partition(":")[2])
    try:
        with open(recorded) as f:
            return int(f.read())
    except (OSError, ValueError):
        return descriptor["size"]


def group_images(store, descriptors: list[dict]) -> list[Image]:
    by_id: dict[str, Image] = {}
    for d in descriptors:
        if d.get("mediaType") not in media.MANIFESTS:
            continue
        config_digest = store.read_json(d["digest"])["config"]["digest"]
        image = by_id.get(config_digest)
        if image is None:
            image = by_id[config_digest] = Image(store, config_digest, d)
        ref_name = d.get("annotations", {}).get(media.REF_NAME)
        if ref_name:
            image.refs.append(reference.parse(ref_name))
    return list(by_id.values())


def lookup(store, images: list[Image], text: str) -> Image:
    """Find an image the way Docker's daemon does: by reference, then by ID or ID prefix."""
    hex_id = text[7:] if text.startswith("sha256:") else text
    if len(hex_id) == 64 and reference.looks_like_id(text):
        for image in images:
            if image.id == "sha256:" + hex_id:
                return image
        raise NotFound(f"No such image: {text}")
    ref = reference.parse(text)
    if ref.digest:
        for image in images:
            if ref in image.refs or (image.manifest_digest == ref.digest and
                                     any(r.name == ref.name for r in image.refs)):
                return image
    else:
        wanted = ref.with_default_tag()
        for image in images:
            if wanted in image.refs:
                return image
    if reference.looks_like_id(text):
        matches = [image for image in images if image.id[7:].startswith(hex_id)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise DaemonError(f"multiple IDs found with provided prefix: {hex_id}")
    raise NotFound(f"No such image: {ref.with_default_tag().familiar() if not ref.digest else ref.familiar()}")
