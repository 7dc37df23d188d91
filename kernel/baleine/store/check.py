"""`baleine system check`: prove the store is whole (every digest, every reference)."""

from __future__ import annotations

import hashlib
import json
import os

from baleine.store import media
from baleine.store.layout import CHUNK, Store


def check(store: Store) -> tuple[list[str], dict]:
    """Return (problems, counts). An empty problem list means the store is consistent."""
    problems: list[str] = []
    counts = {"blobs": 0, "references": 0, "images": 0}
    if not os.path.exists(store.index_path):
        return problems, counts
    try:
        with open(os.path.join(store.layout, "oci-layout")) as f:
            if json.load(f).get("imageLayoutVersion") != media.OCI_LAYOUT_VERSION:
                problems.append("oci-layout: unexpected imageLayoutVersion")
    except (OSError, ValueError) as err:
        problems.append(f"oci-layout: {err}")
    try:
        with open(store.index_path, "rb") as f:
            descriptors = json.loads(f.read())["manifests"]
    except (OSError, ValueError, KeyError) as err:
        return problems + [f"index.json: unreadable: {err}"], counts

    good: set[str] = set()
    for name in sorted(os.listdir(store.blobs)):
        counts["blobs"] += 1
        h = hashlib.sha256()
        with open(os.path.join(store.blobs, name), "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        if h.hexdigest() == name:
            good.add("sha256:" + name)
        else:
            problems.append(f"blob sha256:{name}: content hashes to sha256:{h.hexdigest()}")

    manifests = set()
    for d in descriptors:
        ref = d.get("annotations", {}).get(media.REF_NAME)
        counts["references"] += bool(ref)
        label = ref or d.get("digest", "?")
        if d.get("digest") not in good:
            problems.append(f"{label}: manifest {d.get('digest')} is missing or damaged")
            continue
        manifests.add(d["digest"])
        if os.path.getsize(store.blob_path(d["digest"])) != d.get("size"):
            problems.append(f"{label}: manifest size differs from its descriptor")
        try:
            manifest = store.read_json(d["digest"])
            wanted = [manifest["config"]] + manifest.get("layers", [])
        except (ValueError, KeyError, TypeError) as err:
            problems.append(f"{label}: manifest unreadable: {err}")
            continue
        for blob in wanted:
            if blob.get("digest") not in good:
                problems.append(f"{label}: blob {blob.get('digest')} is missing or damaged")
            elif os.path.getsize(store.blob_path(blob["digest"])) != blob.get("size"):
                problems.append(f"{label}: blob {blob['digest']} size differs from the manifest")
        if manifest["config"].get("digest") in good:
            config = store.read_json(manifest["config"]["digest"])
            diff_ids = config.get("rootfs", {}).get("diff_ids", [])
            if len(diff_ids) != len(manifest.get("layers", [])):
                problems.append(f"{label}: config lists {len(diff_ids)} layers, manifest {len(manifest.get('layers', []))}")
    counts["images"] = len(manifests)
    return problems, counts
