"""`docker import`: a root file-system tarball becomes a one-layer image."""

from __future__ import annotations

from baleine import reference
from baleine.errors import DaemonError
from baleine.archive.common import ingest_layer, layer_descriptor, new_config, write_image
from baleine.store import Store


def apply_changes(container_config: dict, changes: list[str]) -> dict:
    """Apply `--change` Dockerfile instructions (CMD, ENV, LABEL, ...) to a container config."""
    if not changes:
        return container_config
    from baleine.build.config_changes import apply_changes as apply_all
    try:
        return apply_all({"config": container_config}, changes)["config"]
    except ValueError as err:  # DockerfileError included: the daemon's text
        raise DaemonError(getattr(err, "message", str(err))) from None


def import_tarball(store: Store, stream, ref: reference.Reference | None, changes: list[str],
                   message: str = "") -> str:
    container_config = apply_changes({}, changes)
    writer = ingest_layer(store, stream, "import")
    with writer, store.transaction() as txn:
        diff_id = txn.add_blob(writer)
        config = new_config([diff_id], [], container_config)
        config["history"] = [{"created": config["created"], "comment": message or "Imported from -"}]
        image_id, _ = write_image(txn, config, [layer_descriptor(diff_id, writer.size)],
                                  [ref] if ref else [])
    return image_id
