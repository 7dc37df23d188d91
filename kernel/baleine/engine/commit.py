"""`docker commit`: the container's writable layer becomes a new image on top of its own."""

from __future__ import annotations

import copy
import os

from baleine import times
from baleine.engine.containers import Container
from baleine.errors import DaemonError, NotFound

# Fields of the container's config that the new image keeps (Docker's commit merge).
IMAGE_CONFIG_KEYS = ("User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Volumes",
                     "WorkingDir", "Entrypoint", "OnBuild", "Labels", "StopSignal", "Shell")


def commit(store, container: Container, refs, *, author: str = "", message: str = "",
           changes: list[str] = (), pause: bool = True) -> str:
    """The new image's ID. pause: freeze a running container while its upper dir is read."""
    from baleine import snapshot
    from baleine.archive.common import layer_descriptor, write_image
    from baleine.archive.tarball import apply_changes
    from baleine.engine.containers import frozen
    from baleine.layers import diff_overlay_upper
    from baleine.runtime.owners import intended

    try:
        image = store.lookup(container.record["Image"])
    except NotFound:
        raise DaemonError(f"the image of container {container.id[:12]} was removed") from None
    upper = os.path.join(container.dir, "upper")
    rootless = os.geteuid() != 0
    ids = {"uid_map": {os.geteuid(): 0}, "gid_map": {os.getegid(): 0}} if rootless else {}
    writer = store.writer()
    with writer:
        with frozen(container, pause):
            if container.record.get("Driver") == "vfs":
                result = _diff_copy(store, container, writer, ids)
            else:
                metadata = snapshot.lower_metadata(store, image)
                # rootless: the owners the container's chowns asked for (runtime/owners.py)
                owners = intended(container.state_dir, upper, metadata) if rootless else {}
                result = diff_overlay_upper(upper, writer, metadata=metadata, owners=owners, **ids)
        config = copy.deepcopy(image.config)
        record_config = container.record["Config"]
        new_config = {k: copy.deepcopy(record_config[k]) for k in IMAGE_CONFIG_KEYS
                      if record_config.get(k) not in (None, "", [], {})}
        config["config"] = apply_changes(new_config, list(changes))
        now = times.rfc3339_nano()
        config["created"] = now
        config["parent"] = image.id  # a local parent: `history` shows its ID on its top row
        if author:
            config["author"] = author
        else:
            config.pop("author", None)
        empty = result.entries == 0
        entry = {"created": now, "created_by": " ".join(record_config.get("Cmd") or [])}
        if author:
            entry["author"] = author
        if message:
            entry["comment"] = message
        if empty:
            entry["empty_layer"] = True
        config["history"] = list(config.get("history") or []) + [entry]
        layers = list(image.layers)
        with store.transaction() as txn:
            if not empty:
                diff_id = txn.add_blob(writer)
                config["rootfs"]["diff_ids"] = list(image.diff_ids) + [diff_id]
                layers.append(layer_descriptor(diff_id, writer.size))
            image_id, _ = write_image(txn, config, layers, refs)
    return image_id


def _diff_copy(store, container: Container, writer, ids: dict):
    """The vfs fallback: the copy's changes laid out as an overlay upper dir, then diffed."""
    import tempfile

    from baleine.engine.changes import synthetic_upper
    from baleine.layers import Metadata, diff_overlay_upper, sidecar_path
    from baleine.runtime.owners import intended
    from baleine.snapshot import remove_tree

    rootfs = os.path.join(container.bundle, "rootfs")
    tmp = tempfile.mkdtemp(prefix="commit-", dir=container.dir)
    try:
        upper = os.path.join(tmp, "upper")
        os.mkdir(upper)
        synthetic_upper(store, container, upper)
        metadata = Metadata.load(sidecar_path(rootfs))
        owners = intended(container.state_dir, upper, metadata) if ids else {}
        return diff_overlay_upper(upper, writer, metadata=metadata, owners=owners, **ids)
    finally:
        remove_tree(tmp)
