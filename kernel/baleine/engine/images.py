"""Image operations behind `tag`, `rmi`, `image prune`, `history` and `inspect`."""

from __future__ import annotations

import hashlib
import json
import os

from baleine import reference, times
from baleine.errors import Conflict, DaemonError
from baleine.store import Store
from baleine.store.images import Image, layer_size


def chain_ids(diff_ids: list[str]) -> list[str]:
    """Docker's ChainIDs: the identity of each layer stacked on the ones below it."""
    chains: list[str] = []
    for diff_id in diff_ids:
        if chains:
            diff_id = "sha256:" + hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest()
        chains.append(diff_id)
    return chains


def containers_using(store: Store, image_id: str) -> list[tuple[str, bool]]:
    """(container ID, running) of every container created from this image."""
    base = os.path.join(store.root, "containers")
    found = []
    try:
        names = sorted(os.listdir(base))
    except FileNotFoundError:
        return found
    for name in names:
        try:
            with open(os.path.join(base, name, "container.json")) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue
        if record.get("Image") == image_id:
            running = record.get("State", {}).get("Running", False)
            found.append((record.get("Id", name), bool(running)))
    return found


def tag(store: Store, source: str, target: str) -> None:
    try:
        target_ref = reference.parse_tagged(target)
    except reference.InvalidReference as err:
        raise DaemonError(f'error parsing reference: "{target}" is not a valid repository/tag: {err}') from None
    if target_ref.digest:
        raise DaemonError("refusing to create a tag with a digest reference")
    with store.transaction() as txn:
        image = store.lookup(source)
        txn.set_ref(str(target_ref), image.descriptor)


def _short(image_id: str) -> str:
    return image_id.partition(":")[2][:12]


def remove(store: Store, text: str, force: bool = False) -> list[tuple[str, str]]:
    """`docker rmi TEXT`: returns ("Untagged"|"Deleted", value) records in Docker's order."""
    records: list[tuple[str, str]] = []
    with store.transaction() as txn:
        images = store.images()
        image = store.lookup(text)
        by_reference = not (reference.looks_like_id(text) and image.id[7:].startswith(
            text[7:] if text.startswith("sha256:") else text))
        users = containers_using(store, image.id)
        if by_reference:
            ref = reference.parse(text)
            ref = ref if ref.digest else ref.with_default_tag()
            if ref not in image.refs and ref.digest:
                ref = next(r for r in image.refs if r.name == ref.name)
            remaining = [r for r in image.refs if r != ref]
            if not remaining and users and not force:
                raise Conflict(f'conflict: unable to remove repository reference "{text}" (must force) '
                               f"- container {_short('x:' + users[0][0])} is using its referenced image "
                               f"{_short(image.id)}")
            txn.remove_ref(str(ref))
            records.append(("Untagged", ref.familiar()))
            if not ref.digest and not any(r.name == ref.name and r.tag for r in remaining):
                # The last tag of a repository takes its digest references along.
                for other in [r for r in remaining if r.digest and r.name == ref.name]:
                    txn.remove_ref(str(other))
                    records.append(("Untagged", other.familiar()))
                    remaining.remove(other)
            if remaining:
                return records
        else:
            if len({r.name for r in image.refs}) > 1 and not force:
                raise Conflict(f"conflict: unable to delete {_short(image.id)} (must be forced) "
                               "- image is referenced in multiple repositories")
        running = [cid for cid, up in users if up]
        if running:
            raise Conflict(f"conflict: unable to delete {_short(image.id)} (cannot be forced) "
                           f"- image is being used by running container {running[0][:12]}")
        if users and not force:
            raise Conflict(f"conflict: unable to delete {_short(image.id)} (must be forced) "
                           f"- image is being used by stopped container {users[0][0][:12]}")
        for ref in list(image.refs):
            if by_reference:
                break
            txn.remove_ref(str(ref))
            records.append(("Untagged", ref.familiar()))
        txn.remove_manifest(image.manifest_digest)
        records.append(("Deleted", image.id))
        still_used = set()
        for other in images:
            if other.id != image.id:
                still_used.update(chain_ids(other.diff_ids))
        for chain in reversed(chain_ids(image.diff_ids)):
            if chain in still_used:
                break
            records.append(("Deleted", chain))
    return records


def prune(store: Store, all_images: bool = False, filters: list[str] = ()) -> tuple[list[tuple[str, str]], int]:
    """`docker image prune`: remove dangling images (or every unused one with -a)."""
    from baleine.engine.image_filters import ImageFilter

    images = store.images()
    image_filter = ImageFilter(store, images, list(filters), allowed=("label", "label!", "until"))
    candidates = [img for img in images if (img.dangling or all_images)
                  and image_filter.keep(img) and not containers_using(store, img.id)]
    records: list[tuple[str, str]] = []
    if not candidates:
        return records, 0
    # Docker counts the layers it frees, not the small manifest and config files.
    layer_sizes = {layer["digest"]: layer_size(store, layer, diff_id)
                   for image in candidates for layer, diff_id in zip(image.layers, image.diff_ids)}
    for image in candidates:
        records.extend(remove(store, image.id, force=True))
    return records, sum(size for digest, size in layer_sizes.items() if not store.has_blob(digest))


def history(image: Image) -> list[dict]:
    """History rows newest first: ID, created (seconds), created_by, size, comment."""
    config = image.config
    entries = config.get("history") or []
    layer_sizes = [layer_size(image.store, d, diff) for d, diff in zip(image.layers, image.diff_ids)]
    ids_by_row = _parent_ids(image)
    rows = []
    layer_index = 0
    for i, entry in enumerate(entries):
        if entry.get("empty_layer"):
            size = 0
        else:
            size = layer_sizes[layer_index] if layer_index < len(layer_sizes) else 0
            layer_index += 1
        rows.append({
            "id": ids_by_row.get(i, "<missing>"),
            "created": times.parse(entry.get("created", "")),
            "created_by": entry.get("created_by", "").replace("\t", " "),
            "size": size,
            "comment": entry.get("comment", ""),
        })
    rows.reverse()
    if rows:
        rows[0]["id"] = image.id
    return rows


def _parent_ids(image: Image) -> dict[int, str]:
    """Rows that are the top of a local parent image (a classic `commit` chain) show its ID."""
    ids: dict[int, str] = {}
    parent = image.config.get("parent")
    seen = {image.id}
    while parent and parent not in seen:
        seen.add(parent)
        try:
            parent_config = image.store.read_json(parent)
        except Exception:
            break
        count = len(parent_config.get("history") or [])
        if count:
            ids[count - 1] = parent
        parent = parent_config.get("parent")
    return ids


def inspect(image: Image) -> dict:
    """`docker image inspect` JSON, in Docker's shape."""
    config = image.config
    container_config = config.get("config") or {}
    return {
        "Id": image.id,
        "RepoTags": [r.familiar() for r in image.tags],
        "RepoDigests": [r.familiar() for r in image.repo_digests],
        "Parent": config.get("parent", ""),
        "Comment": (config.get("history") or [{}])[-1].get("comment", "") if config.get("history") else "",
        "Created": config.get("created", times.ZERO_TIME),
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": _container_config(container_config),
        "Architecture": config.get("architecture", ""),
        **({"Variant": config["variant"]} if config.get("variant") else {}),
        "Os": config.get("os", ""),
        "Size": image.size,
        "GraphDriver": {"Data": None, "Name": "baleine"},
        "RootFS": {"Type": "layers", "Layers": list(image.diff_ids)},
        "Metadata": {"LastTagTime": times.ZERO_TIME},
    }


def _container_config(c: dict) -> dict:
    """Docker's container.Config with every classic field present, as inspect shows it."""
    out = {
        "Hostname": "", "Domainname": "", "User": c.get("User", ""),
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
    }
    if c.get("ExposedPorts"):
        out["ExposedPorts"] = c["ExposedPorts"]
    out.update({"Tty": False, "OpenStdin": False, "StdinOnce": False,
                "Env": c.get("Env"), "Cmd": c.get("Cmd")})
    if c.get("Healthcheck"):
        out["Healthcheck"] = c["Healthcheck"]
    if c.get("ArgsEscaped"):
        out["ArgsEscaped"] = True
    out.update({"Image": "", "Volumes": c.get("Volumes"), "WorkingDir": c.get("WorkingDir", ""),
                "Entrypoint": c.get("Entrypoint"), "OnBuild": c.get("OnBuild"),
                "Labels": c.get("Labels")})
    if c.get("StopSignal"):
        out["StopSignal"] = c["StopSignal"]
    if c.get("Shell"):
        out["Shell"] = c["Shell"]
    return out
