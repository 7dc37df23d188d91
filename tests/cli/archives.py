"""Build small image archives in tests, with chosen configs (dates, history, labels)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from datetime import datetime, timezone


def stamp(seconds_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def docker_archive(images: list[dict]) -> bytes:
    """images: [{"layers": [bytes...], "history": [...], "config": {...}, "tags": [...],
    "created": str, "labels": {...}}] -> a docker-archive (manifest.json) tar."""
    buf = io.BytesIO()
    manifest = []
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        written = set()

        def add(name, data):
            if name in written:
                return
            written.add(name)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for image in images:
            layers = image["layers"]
            config = {
                "architecture": "amd64", "os": "linux",
                "created": image.get("created", stamp(60)),
                "config": image.get("config", {"Cmd": ["sh"]}),
                "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]},
                "history": image["history"],
            }
            config_bytes = json.dumps(config).encode()
            for layer in layers:
                add(f"blobs/sha256/{sha(layer)[7:]}", layer)
            add(f"blobs/sha256/{sha(config_bytes)[7:]}", config_bytes)
            manifest.append({"Config": f"blobs/sha256/{sha(config_bytes)[7:]}",
                             "RepoTags": image.get("tags"),
                             "Layers": [f"blobs/sha256/{sha(l)[7:]}" for l in layers]})
        add("manifest.json", json.dumps(manifest).encode())
    return buf.getvalue()
